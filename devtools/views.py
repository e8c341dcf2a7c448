"""The benchmark's reference page, served only by the benchmark's own URLconf (``devtools/urls.py``)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from implementation.access import require_role


@login_required
def reference_page(request):
    """
    What every signed-in page pays whatever it shows: the middleware, the session, the reader's
    roles, the site menu and the base template, with an empty body. The dashboards' targets are
    multiples of its time (docs/performance.md).
    """
    require_role(request.user)
    return render(request, "devtools/reference.html")
