"""
Writes that touch ratings. The admin, the commands and (later) the API and importers
all come through here, so that every change is stamped and appended to history the
same way.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .models import Rating

SOURCE_FIELDS = ("source_document", "source_reference", "source_url", "source_date")
RATED_FIELDS = ("status", "explanation", "justification", *SOURCE_FIELDS, "assessment")


class EditConflict(ValidationError):
    """Someone else saved the record after the editor loaded it; the editor's save is refused."""


def check_version(rating, version):
    """
    Lock ``rating`` until the end of the transaction and raise ``EditConflict`` unless its
    latest history row is still ``version``, the one the editor loaded. The message says
    who saved in between, and when, so that the editor can reload, compare and redo.
    """
    Rating.objects.select_for_update().filter(pk=rating.pk).exists()
    latest = rating.latest_change()
    if latest is None or latest.history_id == version:
        return
    who = latest.history_user.get_username() if latest.history_user else _("an import")
    raise EditConflict(
        _(
            "This rating was changed by %(who)s on %(when)s (now: %(status)s) after you opened it. Your changes were "
            "not saved: reload the rating, check the other change, and make yours again."
        )
        % {"who": who, "when": moment_text(latest.history_date), "status": latest.get_status_display()},
        code="edit_conflict",
    )


def moment_text(moment):
    """``moment`` in the reader's time zone and language, as a conflict message names it: "01 Mar 2025 at 09:00"."""
    moment = timezone.localtime(moment)
    # Translators: a moment in a message, e.g. "01 Mar 2025 at 09:00".
    return _("%(date)s at %(time)s") % {
        "date": formats.date_format(moment, "d M Y"),
        "time": formats.time_format(moment, "H:i"),
    }


@transaction.atomic
def save_rating(rating, *, by, reason, at=None, check_permission=True, expected_version=None):
    """
    Save ``rating`` as edited in memory by ``by``, stamping who and when, and append
    one history row carrying ``reason``.

    A change of status restamps ``set_by``/``set_at``; any save also counts as a
    confirmation that the rating holds. Raises ``PermissionDenied`` when ``by`` may not
    edit this rating (the rule is ``Rating.objects.editable_by``), and ``EditConflict``
    when ``expected_version`` is given and someone saved the rating since that version.
    """
    if check_permission and not rating.is_editable_by(by):
        raise PermissionDenied(_("You may not change this rating."))
    if expected_version is not None and rating.pk is not None:
        check_version(rating, expected_version)
    at = at or timezone.now()
    if rating.pk is None or _status_changed(rating):
        rating.set_by = by
        rating.set_at = at
    rating.last_confirmed_at = at
    rating._change_reason = reason
    rating._history_user = by
    rating._history_date = at
    rating.full_clean(validate_unique=False)
    rating.save()
    return rating


@transaction.atomic
def set_rating(*, state, measure, kind, by, reason, at=None, **values):
    """
    Create or update the rating of ``kind`` for ``state`` × ``measure`` with ``values``
    (fields from ``RATED_FIELDS``). Returns the rating; nothing is written if it is
    unchanged, so re-running an import does not grow history.
    """
    unknown = set(values) - set(RATED_FIELDS)
    if unknown:
        raise TypeError(f"Not rating fields: {', '.join(sorted(unknown))}")
    rating = Rating.objects.select_for_update().filter(state=state, measure=measure, kind=kind).first()
    if rating is None:
        rating = Rating(state=state, measure=measure, kind=kind)
    elif all(getattr(rating, field) == value for field, value in values.items()):
        return rating
    for field, value in values.items():
        setattr(rating, field, value)
    return save_rating(rating, by=by, reason=reason, at=at, check_permission=False)


def confirm_rating(rating, *, by, at=None, expected_version=None):
    """Record that ``rating`` was checked and still holds, without changing it."""
    return save_rating(rating, by=by, reason="Confirmed: still holds.", at=at, expected_version=expected_version)


def _status_changed(rating):
    stored = Rating.objects.filter(pk=rating.pk).values_list("status", flat=True).first()
    return stored != rating.status


def carry_over_rating(old, *, measure, by, reason):
    """
    Copy rating ``old`` onto ``measure`` (its successor in a new edition of the
    catalogue), keeping who set it and when it was set and last confirmed: a new
    edition does not make anyone re-check the rating. The copy's first history row,
    written now by ``by``, carries ``reason``.
    """
    rating = Rating(
        state=old.state,
        measure=measure,
        kind=old.kind,
        set_by=old.set_by,
        set_at=old.set_at,
        last_confirmed_at=old.last_confirmed_at,
        **{field: getattr(old, field) for field in RATED_FIELDS},
    )
    rating._change_reason = reason
    rating._history_user = by
    rating.full_clean()
    rating.save()
    return rating
