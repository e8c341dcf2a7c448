"""
A rating's version, the check that refuses a save based on an old version, and the
database rule that keeps snapshots frozen.
"""

import threading

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from implementation import workflow
from implementation.models import Rating, Snapshot, SnapshotEntry
from implementation.ratings import EditConflict, save_rating

ASSESSED = Rating.Kind.ASSESSED


def test_version_is_the_latest_history_row_and_moves_with_every_save(ratings, analyst):
    rating = Rating.objects.get(pk=ratings["jam", ASSESSED].pk)
    first = rating.version
    assert first == rating.history.latest("history_id").history_id
    rating.explanation = "Import marking now enforced."
    save_rating(rating, by=analyst, reason="Desk review")
    # The instance knows its new version without reading it again.
    assert rating.version > first
    assert rating.version == Rating.objects.with_version().get(pk=rating.pk).version


def test_with_version_annotates_every_rating_in_one_query(ratings, django_assert_num_queries):
    with django_assert_num_queries(1):
        versions = {r.pk: r.version for r in Rating.objects.with_version()}
    assert versions == {pk: Rating.objects.get(pk=pk).version for pk in versions}
    assert len(set(versions.values())) == len(versions)


def test_save_based_on_an_old_version_is_refused_and_changes_nothing(ratings, analyst):
    loaded = Rating.objects.get(pk=ratings["jam", ASSESSED].pk)
    seen = loaded.version
    other = Rating.objects.get(pk=loaded.pk)
    other.status = Rating.Status.LARGELY
    save_rating(other, by=analyst, reason="Regulations gazetted")

    loaded.status = Rating.Status.NOT_IMPLEMENTED
    with pytest.raises(EditConflict, match=r"was changed by ana on .*\(now: Largely implemented\)"):
        save_rating(loaded, by=analyst, reason="Law repealed", expected_version=seen)
    assert Rating.objects.get(pk=loaded.pk).status == Rating.Status.LARGELY
    assert loaded.history.count() == 2


def test_save_based_on_the_current_version_goes_through(ratings, analyst):
    loaded = Rating.objects.get(pk=ratings["jam", ASSESSED].pk)
    loaded.status = Rating.Status.LARGELY
    save_rating(loaded, by=analyst, reason="Regulations gazetted", expected_version=loaded.version)
    assert Rating.objects.get(pk=loaded.pk).status == Rating.Status.LARGELY


def test_snapshot_rows_cannot_be_edited_or_deleted(ratings, analyst, world):
    snapshot = workflow.freeze(state=world["jam"], label="2024 visit", by=analyst)
    entry = snapshot.entries.first()
    for write in (
        lambda: SnapshotEntry.objects.filter(pk=entry.pk).update(status="implemented"),
        lambda: SnapshotEntry.objects.filter(pk=entry.pk).delete(),
        lambda: Snapshot.objects.filter(pk=snapshot.pk).update(label="Renamed"),
    ):
        with pytest.raises((IntegrityError, DatabaseError), match="Snapshots are frozen"), transaction.atomic():
            write()
    assert SnapshotEntry.objects.get(pk=entry.pk).status == entry.status
    assert Snapshot.objects.get(pk=snapshot.pk).label == "2024 visit"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_of_one_version_let_exactly_one_through(ratings, analyst):
    """Two transactions at once on PostgreSQL: the row lock makes the second wait, then refuses it."""
    rating = ratings["jam", ASSESSED]
    seen = rating.version
    barrier = threading.Barrier(2)
    outcomes = []

    def edit(status):
        try:
            mine = Rating.objects.get(pk=rating.pk)
            mine.status = status
            barrier.wait(timeout=10)
            save_rating(mine, by=analyst, reason=f"Set to {status}", expected_version=seen)
            outcomes.append(("saved", status))
        except EditConflict:
            outcomes.append(("refused", status))
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(s,)) for s in ("largely", "not_implemented")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(kind for kind, _ in outcomes) == ["refused", "saved"]
    saved = next(status for kind, status in outcomes if kind == "saved")
    stored = Rating.objects.get(pk=rating.pk)
    assert stored.status == saved
    # One row for the first save and one for the winner: the refused save left no trace.
    assert stored.history.count() == 2
