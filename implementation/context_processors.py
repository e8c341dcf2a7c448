from django.utils.functional import SimpleLazyObject

from states.models import MemberState, Region, Role, is_analyst, role_kinds

from .models import Submission


def navigation(request):
    """
    The workshop regions, the reader's own State and, for analysts, the number of
    submissions waiting for review, for the site menu; each queried only if a page shows it.
    """
    user = getattr(request, "user", None)
    return {
        "nav_regions": SimpleLazyObject(menu_regions),
        "nav_own_state": SimpleLazyObject(lambda: own_state(user)),
        "nav_review": SimpleLazyObject(lambda: review_queue(user)),
        # Roles are read once per request and kept on the user, so this costs no query of its own.
        "nav_is_analyst": SimpleLazyObject(lambda: user is not None and is_analyst(user)),
    }


def menu(request):
    """What the site header shows ``request``'s reader, read now: the dashboards' ETag covers it (caching.py)."""
    user = request.user
    return {"nav_regions": menu_regions(), "nav_own_state": own_state(user), "nav_review": review_queue(user)}


def menu_regions():
    return list(Region.objects.filter(kind=Region.Kind.WORKSHOP).order_by("name"))


def own_state(user):
    if user is None or Role.Kind.FOCAL_POINT not in role_kinds(user):
        return None
    return MemberState.objects.visible_to(user).first()


def review_queue(user):
    # A dict so that the menu can test it: falsy (None) for everyone but analysts.
    if user is None or not is_analyst(user):
        return None
    return {"pending": Submission.objects.visible_to(user).pending().count()}
