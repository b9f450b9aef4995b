"""The shop's chat on the web (issue 10): the page (pages.py and static/) and, beside it, the event stream."""
