"""
What a serving process does once the application is loaded (config/startup.py): the URLconf and
the catalogues loaded, then the heap frozen, so that the garbage collector's passes skip it.

Each check runs in a fresh interpreter, as a gunicorn worker starts: freezing the test process's
own heap would leave it frozen for every test after.
"""

import json
import os
import subprocess
import sys
import textwrap

from django.conf import settings

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "startup-test-key-for-a-process-that-serves-nobody-0123456789",
    "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
}


def run(code, **variables):
    """Run ``code`` in a fresh interpreter with production settings; return what it printed as JSON."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **PRODUCTION, **variables}
    process = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def test_importing_the_wsgi_entry_point_freezes_the_loaded_application():
    found = run(
        """
        import gc, json, sys
        import config.wsgi
        from django.urls import get_resolver
        from django.utils.translation import trans_real

        unfrozen = {id(thing) for thing in gc.get_objects()}
        print(json.dumps({
            "frozen": gc.get_freeze_count(),
            "unfrozen": len(unfrozen),
            "views_loaded": "implementation.views.dashboards" in sys.modules,
            "patterns_frozen": id(get_resolver().url_patterns) not in unfrozen,
            "reverse_frozen": id(get_resolver()._reverse_dict) not in unfrozen,
            "catalogues": sorted(trans_real._translations),
        }))
        """
    )
    # Everything alive at start-up is in the permanent generation, which collections skip.
    assert found["frozen"] > 10_000
    assert found["unfrozen"] < 1_000
    # The URLconf (every view it imports, its reverse tables) and every language's catalogue
    # are loaded before the freeze, not by the first request after it.
    assert found["views_loaded"] and found["patterns_frozen"] and found["reverse_frozen"]
    assert found["catalogues"] == sorted(code for code, _name in settings.LANGUAGES)


def test_without_the_entry_point_the_loaded_application_is_not_frozen():
    # The check above could not tell a freeze from an interpreter that starts frozen. Python
    # 3.12 starts with a few hundred objects of its own in the permanent generation, so
    # ``get_freeze_count() > 0`` alone would hold without any freeze.
    found = run(
        """
        import gc, json
        import django
        django.setup()
        from django.urls import get_resolver
        get_resolver().url_patterns
        print(json.dumps({"frozen": gc.get_freeze_count(), "unfrozen": len(gc.get_objects())}))
        """,
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    assert found["frozen"] < 1_000
    assert found["unfrozen"] > 10_000


def test_requests_after_the_freeze_are_collected_as_before():
    # Freezing excludes what exists; it must not switch the collector off for what requests make.
    found = run(
        """
        import gc, json
        import config.wsgi

        class Node:
            pass

        node = Node()
        node.itself = node
        del node
        print(json.dumps({"enabled": gc.isenabled(), "freed": gc.collect()}))
        """
    )
    assert found["enabled"] is True
    assert found["freed"] >= 1
