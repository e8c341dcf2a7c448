"""
The one place where a rating or its history row is written: one at a time (``save_rating``,
``set_rating``, ``confirm_rating``, ``carry_over_rating``) or many at once (``write_many``,
``create_with_history``), so that every change is stamped and appended to history the same way.
"""

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
# Rows per statement where many ratings are written through Django's bulk operations.
BATCH_SIZE = 1000


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


def current_or_new(*, state, measure, kind):
    """The rating of ``kind`` for ``state`` × ``measure``, or a new one, not saved yet, if there is none."""
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


@transaction.atomic
def write_many(changes, *, kind, by, at, reason):
    """
    Set many ratings of ``kind`` at once, each as ``save_rating`` would, with one history row
    each (``previous_status`` included), in a fixed number of queries per thousand ratings.
    ``changes`` holds ``(rating, state_id, measure_id, values)``: ``rating`` is the current
    rating, locked by the caller, or ``None`` when there is none yet. No permission or version
    is checked here: the caller has done both for the whole set.
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
    # Looked up when called, so that the benchmark can compare the two writers on PostgreSQL.
    write = write_postgresql if connection.vendor == "postgresql" else write_orm
    write(updated, created, kind=kind, by=by, at=at, reason=reason)
    return len(updated) + len(created)


# The rating columns ``write_many`` sets, and those simple_history copies into a history row.
WRITTEN = [*(field for field in RATED_FIELDS if field != "assessment"), "set_by", "set_at", "last_confirmed_at"]
HISTORY_COPIED = [field.attname for field in HistoricalRating.tracked_fields]


def write_orm(updated, created, *, kind, by, at, reason):
    """Write ratings stamped by ``write_many``, and their history rows, with Django's bulk operations."""
    # An upsert on the primary key rather than bulk_update, whose CASE WHEN per field and row
    # is far slower (docs/performance.md, "Bulk import"). The rows exist and are locked.
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
    """
    What ``write_orm`` writes, in three statements whatever the number of rows: an UPDATE and
    an INSERT that read their rows from arrays (``unnest``), then an INSERT ... SELECT that
    copies each rating as it now stands into its history row.
    """
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
    """The PostgreSQL type of an array of ``field``'s values, as ``unnest`` reads it."""
    if field.is_relation:
        return "bigint"
    return {"DateField": "date", "DateTimeField": "timestamptz"}.get(field.get_internal_type(), "text")


def _arrays(ratings, fields):
    return [[getattr(rating, field.attname) for rating in ratings] for field in fields]


def create_with_history(ratings, *, batch_size=500):
    """
    Create ratings whose history lies in the past, with the dates it gives (the demo data).
    ``ratings`` holds ``(keys, history)``: ``keys`` the rating's ``state``, ``measure`` and
    ``kind``, ``history`` its changes oldest first as ``(at, by, reason, values)``; the rating
    takes the values of the last. Returns the ratings made and the number of history rows.
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
