"""System checks of the project's own settings, run by ``manage.py check`` (``--deploy`` for production's)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.caches, deploy=True)
def check_shared_cache(app_configs, **kwargs):
    """Production's cache is shared: local memory would count each limit, and cache each page, per process."""
    if settings.CACHE_IS_SHARED:
        return []
    return [
        checks.Warning(
            "The cache is each process's own memory (DJANGO_CACHE_URL is unset).",
            hint=(
                "Each gunicorn worker then counts sign-ins per address and API requests per token on its own, so a "
                "client gets the rates times the number of workers, and builds its own copy of each page. Set "
                "DJANGO_CACHE_URL to a Redis (docs/operations.md, 'The shared cache')."
            ),
            id="tracker.W001",
        )
    ]
