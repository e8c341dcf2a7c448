"""WSGI entry point, used by gunicorn: ``gunicorn config.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

from config.startup import freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Last, once the application is loaded: collections then skip it (see freeze_startup_heap).
freeze_startup_heap()
