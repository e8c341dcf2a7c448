"""
What a serving process does once the application is loaded, before its first request.

Called at the end of ``config/wsgi.py`` (each gunicorn worker imports it for itself), and by the
dashboard benchmark before it times anything, so that the figures are those of production.
"""

import gc

from django.conf import settings
from django.urls import get_resolver
from django.utils import translation


def freeze_startup_heap():
    """
    Load what every request needs, then exclude everything alive from the garbage collector's passes.

    Python's cyclic collector re-walks every tracked object it has not freed on each full
    collection: Django, the URLconf with every view, form and serializer it imports, the
    translation catalogues, the app's models. These live as long as the process, yet on the
    dashboards those passes were 7-15 % of each page's CPU (docs/performance.md).
    ``gc.freeze()`` moves them to a permanent generation that collections skip; objects made
    later, by requests, are collected as before. The URLconf and the catalogues are otherwise
    loaded by the first request, after the freeze, so they are loaded here first. A collection
    just before frees start-up garbage, which a freeze would otherwise keep for good.

    gunicorn runs without ``preload_app``, so each worker imports the application and freezes
    its own heap after its fork: nothing is shared between workers, and nothing needs
    ``gc.disable()``. Were ``preload_app`` turned on, the copy-on-write recipe of the ``gc``
    documentation would apply instead: ``gc.disable()`` early in the master, ``gc.freeze()``
    just before the fork (gunicorn's ``pre_fork``), ``gc.enable()`` in each worker (``post_fork``).
    """
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports every view module the URLconf names
    resolver.reverse_dict  # noqa: B018 - builds the reverse lookup tables every {% url %} reads
    for code, _name in settings.LANGUAGES:
        with translation.override(code):  # loads (and caches) that language's catalogues
            pass
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
