"""The gunicorn settings every agent runs with (and the benchmark's bare endpoint too)."""

from agentkit.settings import KitSettings

_settings = KitSettings()

workers = _settings.web_concurrency
worker_class = "gthread"
threads = _settings.gunicorn_threads
preload_app = True  # the master creates and seeds the database once, before forking
timeout = _settings.gunicorn_timeout
graceful_timeout = 5
keepalive = 5
accesslog = None  # the kit writes one JSON line per request itself
errorlog = "-"
loglevel = _settings.gunicorn_log_level
