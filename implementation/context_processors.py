from django.utils.functional import SimpleLazyObject

from states.models import MemberState, Region, Role, role_kinds


def navigation(request):
    """The workshop regions and the reader's own State for the site menu, queried only if a page shows them."""
    user = getattr(request, "user", None)

    def own_state():
        if user is None or Role.Kind.FOCAL_POINT not in role_kinds(user):
            return None
        return MemberState.objects.visible_to(user).first()

    return {
        "nav_regions": SimpleLazyObject(
            lambda: list(Region.objects.filter(kind=Region.Kind.WORKSHOP).order_by("name"))
        ),
        "nav_own_state": SimpleLazyObject(own_state),
    }
