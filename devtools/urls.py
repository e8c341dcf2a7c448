"""
The site's URLconf plus the benchmark's reference page. ``bench_dashboards`` serves it through
this module (``ROOT_URLCONF``); the site itself never routes to the page.
"""

from django.urls import path

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as site_urlpatterns

from .views import reference_page

REFERENCE_PATH = "bench/reference/"

urlpatterns = [
    path(REFERENCE_PATH, reference_page, name="bench_reference"),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
