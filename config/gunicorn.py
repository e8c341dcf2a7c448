"""
gunicorn settings for `make serve` (see docs/operations.md). Each worker is a stateless
process: sessions, login attempts and everything else live in PostgreSQL, so any number
of workers and machines can serve behind one proxy.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# gunicorn's usual rule of thumb; the pages are database- and CPU-bound, not waiting on I/O.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# No preload_app: each worker imports config.wsgi after its fork, and freezes its own start-up
# heap there (config/startup.py). With preload_app the freeze would have to move to pre_fork.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
# Workers are replaced now and then, so that a slow leak cannot grow for ever.
max_requests = 2000
max_requests_jitter = 200
# Requests are logged by the app itself, as structured lines with their request id.
accesslog = None
errorlog = "-"
# The proxy's address, whose X-Forwarded-* headers gunicorn may believe.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's own lines (start, stop, worker restarts) in the app's structured format.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"()": "config.logs.formatter", "renderer": os.environ.get("DJANGO_LOG_FORMAT", "json")}
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}
