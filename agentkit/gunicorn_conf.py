"""The gunicorn settings every agent runs with (and the benchmark's bare endpoint too)."""

from agentkit.settings import KitSettings

_settings = KitSettings()

workers = _settings.web_concurrency
worker_class = "gthread"  # threads, not processes, per request: an open chat stream (sales /chat/stream) holds a thread
threads = _settings.gunicorn_threads
preload_app = True  # the master creates and seeds the database once, before forking
timeout = _settings.gunicorn_timeout
graceful_timeout = 5
keepalive = 5
accesslog = None  # the kit writes one JSON line per request itself
errorlog = "-"
loglevel = _settings.gunicorn_log_level


def post_worker_init(worker):
    """Start what an app runs beside its requests (the sales service's reconciler) in the worker itself:
    the app is built in the master (preload), and threads do not survive the fork."""
    extensions = getattr(getattr(worker, "wsgi", None), "extensions", None) or {}
    start = extensions.get("worker_started")
    if start is not None:
        start()
