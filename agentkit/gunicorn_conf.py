"""The gunicorn settings every agent runs with (and the benchmark's bare endpoint too)."""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
preload_app = True  # the master creates and seeds the database once, before forking
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 5
keepalive = 5
accesslog = None  # the kit writes one JSON line per request itself
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
