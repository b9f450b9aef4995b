"""How the sales agent is reached: the HTTP app and its blueprints, the terminal chat, batch orders."""
