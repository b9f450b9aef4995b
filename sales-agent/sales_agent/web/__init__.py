"""The web chat's server side: the turn as the page shows it (view.py) and its server-sent events (stream.py)."""
