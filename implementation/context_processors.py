from django.utils.functional import SimpleLazyObject

from states.models import MemberState, Region, Role, is_analyst, role_kinds

from .models import Submission


def navigation(request):
    """
    The workshop regions, the reader's own State and, for analysts, the number of
    submissions waiting for review, for the site menu; each queried only if a page shows it.
    """
    user = getattr(request, "user", None)

    def own_state():
        if user is None or Role.Kind.FOCAL_POINT not in role_kinds(user):
            return None
        return MemberState.objects.visible_to(user).first()

    def review_queue():
        # A dict so that the menu can test it: falsy (None) for everyone but analysts.
        if user is None or not is_analyst(user):
            return None
        return {"pending": Submission.objects.visible_to(user).pending().count()}

    return {
        "nav_regions": SimpleLazyObject(
            lambda: list(Region.objects.filter(kind=Region.Kind.WORKSHOP).order_by("name"))
        ),
        "nav_own_state": SimpleLazyObject(own_state),
        "nav_review": SimpleLazyObject(review_queue),
        # Roles are read once per request and kept on the user, so this costs no query of its own.
        "nav_is_analyst": SimpleLazyObject(lambda: user is not None and is_analyst(user)),
    }
