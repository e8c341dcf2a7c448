"""The one module that writes ratings and their history, so that every change is stamped and recorded alike."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .models import Rating

SOURCE_FIELDS = ("source_document", "source_reference", "source_url", "source_date")
RATED_FIELDS = ("status", "explanation", "justification", *SOURCE_FIELDS, "assessment")
# Read once: ``Rating.history`` builds a new manager class on every access.
HistoricalRating = Rating.history.model
REASON_MAX_LENGTH = HistoricalRating._meta.get_field("history_change_reason").max_length
BATCH_SIZE = 1000


class EditConflict(ValidationError):
    """Someone else saved the record after the editor loaded it; the editor's save is refused."""


def check_version(rating, version):
    """Lock ``rating`` and raise ``EditConflict``, naming who saved and when, unless its version is ``version``."""
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
    Save ``rating`` as ``by`` edited it, with one history row carrying ``reason``; a save confirms the rating,
    a new status restamps ``set_by``/``set_at``. Raises ``PermissionDenied`` or ``EditConflict``.
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
    """Create or update a rating with ``values`` (``RATED_FIELDS``); an unchanged one is left, without history."""
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


def current_or_new(*, state, measure, kind):
    """The rating of ``kind`` for ``state`` × ``measure``, or a new one, not saved yet."""
    rating = Rating.objects.filter(state=state, measure=measure, kind=kind).first()
    return rating if rating is not None else Rating(state=state, measure=measure, kind=kind)


def confirm_rating(rating, *, by, at=None, expected_version=None):
    """Record that ``rating`` was checked and still holds, without changing it."""
    return save_rating(rating, by=by, reason="Confirmed: still holds.", at=at, expected_version=expected_version)


def _status_changed(rating):
    stored = Rating.objects.filter(pk=rating.pk).values_list("status", flat=True).first()
    return stored != rating.status


def carry_over_rating(old, *, measure, by, reason):
    """
    Copy rating ``old`` onto ``measure``, its successor in a new edition, keeping who set it and when: a new
    edition makes nobody re-check a rating. The copy's first history row carries ``reason``.
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


@transaction.atomic
def write_many(changes, *, kind, by, at, reason):
    """
    Set many ratings of ``kind`` as ``save_rating`` sets one, in a fixed number of queries. ``changes`` holds
    ``(rating, state_id, measure_id, values)``, ``rating`` locked by the caller, or ``None`` for a new one.
    """
    updated, created = [], []
    for rating, state_id, measure_id, values in changes:
        if rating is None:
            rating = Rating(state_id=state_id, measure_id=measure_id, kind=kind)
            rating.previous_status, rating.set_by_id, rating.set_at = "", by.pk, at
            created.append(rating)
        else:
            rating.previous_status = rating.status
            if rating.status != values["status"]:
                rating.set_by_id, rating.set_at = by.pk, at
            updated.append(rating)
        for field, value in values.items():
            setattr(rating, field, value)
        rating.last_confirmed_at = at
    write = write_postgresql if connection.vendor == "postgresql" else write_orm
    write(updated, created, kind=kind, by=by, at=at, reason=reason)
    return len(updated) + len(created)


WRITTEN = [*(field for field in RATED_FIELDS if field != "assessment"), "set_by", "set_at", "last_confirmed_at"]
HISTORY_COPIED = [field.attname for field in HistoricalRating.tracked_fields]


def write_orm(updated, created, *, kind, by, at, reason):
    """Write ratings stamped by ``write_many``, and their history, with Django's bulk operations."""
    # An upsert rather than bulk_update, far slower (docs/performance.md, "Bulk import").
    Rating.objects.bulk_create(
        updated, update_conflicts=True, unique_fields=["id"], update_fields=WRITTEN, batch_size=BATCH_SIZE
    )
    Rating.objects.bulk_create(created, batch_size=BATCH_SIZE)
    HistoricalRating.objects.bulk_create(
        [
            HistoricalRating(
                **{attname: getattr(rating, attname) for attname in HISTORY_COPIED},
                previous_status=rating.previous_status,
                history_date=at,
                history_user=by,
                history_change_reason=reason,
                history_type=history_type,
            )
            for ratings, history_type in ((updated, "~"), (created, "+"))
            for rating in ratings
        ],
        batch_size=BATCH_SIZE,
    )


def write_postgresql(updated, created, *, kind, by, at, reason):
    """What ``write_orm`` writes, in three statements: an UPDATE and INSERT from arrays, then the history rows."""
    quote = connection.ops.quote_name
    rating_table, history_table = quote(Rating._meta.db_table), quote(HistoricalRating._meta.db_table)
    fields = [Rating._meta.get_field(name) for name in WRITTEN]
    columns = [quote(field.column) for field in fields]
    types = [_array_type(field) for field in fields]
    with connection.cursor() as cursor:
        if updated:
            assignments = ", ".join(f"{column} = v.{column}" for column in columns)
            cursor.execute(
                f"UPDATE {rating_table} AS r SET {assignments} "
                f"FROM unnest(%s::bigint[], {', '.join(f'%s::{t}[]' for t in types)}) AS v(id, {', '.join(columns)}) "
                "WHERE r.id = v.id",
                [[rating.pk for rating in updated], *_arrays(updated, fields)],
            )
        if created:
            keys = ["state_id", "measure_id", "kind"]
            cursor.execute(
                f"INSERT INTO {rating_table} ({', '.join(keys)}, {', '.join(columns)}) "
                f"SELECT v.state_id, v.measure_id, %s, {', '.join(f'v.{column}' for column in columns)} "
                f"FROM unnest(%s::bigint[], %s::bigint[], {', '.join(f'%s::{t}[]' for t in types)}) "
                f"AS v(state_id, measure_id, {', '.join(columns)})",
                [
                    kind.value,
                    [rating.state_id for rating in created],
                    [rating.measure_id for rating in created],
                    *_arrays(created, fields),
                ],
            )
        written = [*updated, *created]
        copied = [quote(Rating._meta.get_field(attname).column) for attname in HISTORY_COPIED]
        cursor.execute(
            f"INSERT INTO {history_table} ({', '.join(copied)}, previous_status, history_type, history_date, "
            "history_user_id, history_change_reason) "
            f"SELECT {', '.join(f'r.{column}' for column in copied)}, v.previous_status, v.history_type, %s, %s, %s "
            f"FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY "
            "AS v(state_id, measure_id, previous_status, history_type, position) "
            f"JOIN {rating_table} AS r ON r.state_id = v.state_id AND r.measure_id = v.measure_id AND r.kind = %s "
            "ORDER BY v.position",
            [
                at,
                by.pk,
                reason,
                [rating.state_id for rating in written],
                [rating.measure_id for rating in written],
                [rating.previous_status for rating in written],
                ["~"] * len(updated) + ["+"] * len(created),
                kind.value,
            ],
        )


def _array_type(field):
    if field.is_relation:
        return "bigint"
    return {"DateField": "date", "DateTimeField": "timestamptz"}.get(field.get_internal_type(), "text")


def _arrays(ratings, fields):
    return [[getattr(rating, field.attname) for rating in ratings] for field in fields]


def create_with_history(ratings, *, batch_size=500):
    """
    Create ratings with a past history, for demo data: ``ratings`` holds ``(keys, history)``, the history as
    ``(at, by, reason, values)`` oldest first. Returns the ratings and the number of history rows.
    """
    made = [Rating(**keys, **history[-1][3]) for keys, history in ratings]
    Rating.objects.bulk_create(made, batch_size=batch_size)
    tracked = [field.attname for field in HistoricalRating.tracked_fields]
    rows = []
    for rating, (_keys, history) in zip(made, ratings, strict=True):
        current = {name: getattr(rating, name) for name in tracked}
        previous_status = ""
        for index, (at, user, reason, values) in enumerate(history):
            rows.append(
                HistoricalRating(
                    **{**current, **values},
                    previous_status=previous_status,
                    history_date=at,
                    history_type="+" if index == 0 else "~",
                    history_user=user,
                    history_change_reason=reason,
                )
            )
            previous_status = values["status"]
    HistoricalRating.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return made, len(rows)
