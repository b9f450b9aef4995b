"""The web chat: the page (pages.py and static/), the turn as the page shows it (view.py) and its server-sent
events (stream.py)."""
