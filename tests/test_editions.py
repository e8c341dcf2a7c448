"""create_edition: revising the catalogue into a new edition that carries the ratings over."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from implementation.editions import create_edition
from implementation.models import Rating
from measures.models import Edition, Instrument, Measure, Section
from measures.services import load_catalogue


def revise(world, by, **options):
    return create_edition(previous=world["edition"], code="next", title="Next edition", by=by, **options)


def catalogue_counts():
    return (
        Edition.objects.count(),
        Section.objects.count(),
        Measure.objects.count(),
        Measure.history.count(),
        Rating.objects.count(),
        Rating.history.count(),
    )


def test_new_edition_copies_sections_and_measures_with_their_predecessors(world, analyst):
    att = Instrument.objects.create(code="ATT", name="Arms Trade Treaty", kind=Instrument.Kind.TREATY)
    world["marking"].instruments.add(att)

    edition = revise(world, analyst)

    assert edition.previous == world["edition"]
    assert list(edition.sections.values_list("code", "title")) == [("B", "SALW controls")]
    marking = edition.measures.get(code="SALW-04")
    assert marking.predecessor == world["marking"]
    assert marking.section.edition == edition
    assert (marking.title, marking.legislative, marking.operational) == (world["marking"].title, True, True)
    assert list(marking.instruments.all()) == [att]
    assert edition.measures.get(code="SALW-06").predecessor == world["records"]


def test_mapping_renames_a_measure(world, analyst):
    edition = revise(world, analyst, mapping={"SALW-04": "SALW-04A"})
    assert set(edition.measures.values_list("code", flat=True)) == {"SALW-04A", "SALW-06"}
    assert edition.measures.get(code="SALW-04A").predecessor == world["marking"]


def test_mapping_to_none_drops_a_measure(world, analyst):
    edition = revise(world, analyst, mapping={"SALW-06": None})
    assert list(edition.measures.values_list("code", flat=True)) == ["SALW-04"]


def test_new_edition_becomes_the_only_current_one(world, analyst):
    edition = revise(world, analyst)
    world["edition"].refresh_from_db()
    assert not world["edition"].is_current
    assert Edition.objects.current() == edition
    assert set(Measure.objects.current().values_list("edition", flat=True)) == {edition.pk}


def test_ratings_carry_over_with_a_history_entry_naming_the_old_code(world, analyst, ratings):
    edition = revise(world, analyst, mapping={"SALW-04": "SALW-04A"})

    renamed = edition.measures.get(code="SALW-04A")
    for (key, kind), old in ratings.items():
        new = Rating.objects.get(state=world[key], measure=renamed, kind=kind)
        assert (new.status, new.explanation, new.source_document) == (
            old.status,
            old.explanation,
            old.source_document,
        )
        # A new edition does not count as anyone re-checking the rating.
        assert (new.set_by, new.set_at, new.last_confirmed_at) == (old.set_by, old.set_at, old.last_confirmed_at)
        entry = new.history.get()
        assert entry.history_change_reason == "Carried over from SALW-04 in edition test."
        assert entry.history_user == analyst
    # The old ratings stay with the old edition.
    assert Rating.objects.filter(measure=world["marking"]).count() == 4


def test_ratings_of_a_dropped_measure_stay_behind(world, analyst, ratings):
    edition = revise(world, analyst, mapping={"SALW-04": None})
    assert not Rating.objects.filter(measure__edition=edition).exists()


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({"SALW-99": "SALW-100"}, "SALW-99"),
        ({"SALW-04": "SALW-X", "SALW-06": "SALW-X"}, "SALW-X"),
        ({"SALW-04": "SALW-06"}, "SALW-06"),
        ({"SALW-04": ""}, "''"),
    ],
    ids=["unknown old code", "two codes made one", "renamed onto a kept code", "empty new code"],
)
def test_bad_mapping_is_refused_with_nothing_written(world, analyst, ratings, mapping, named):
    before = catalogue_counts()
    with pytest.raises(ValueError, match=named):
        revise(world, analyst, mapping=mapping)
    assert catalogue_counts() == before
    assert Edition.objects.current() == world["edition"]


def test_an_edition_is_revised_only_once(world, analyst):
    revise(world, analyst)
    with pytest.raises(ValueError, match="already been revised"):
        create_edition(previous=world["edition"], code="other", title="Other", by=analyst)


def test_command_revises_an_edition(world, analyst, ratings):
    out = StringIO()
    call_command(
        "create_edition",
        "test",
        "next",
        "Next edition",
        "--map",
        "SALW-04=SALW-04A",
        "--drop",
        "SALW-06",
        "--user",
        "ana",
        stdout=out,
    )
    edition = Edition.objects.current()
    assert (edition.code, edition.title) == ("next", "Next edition")
    assert list(edition.measures.values_list("code", flat=True)) == ["SALW-04A"]
    assert out.getvalue() == "Edition next is current. Measures copied from test: 1; ratings carried over: 4.\n"


def test_command_refuses_an_unknown_user_or_a_bad_mapping(world, analyst):
    with pytest.raises(CommandError, match="No user nobody"):
        call_command("create_edition", "test", "next", "Next", "--user", "nobody")
    with pytest.raises(CommandError, match="SALW-99"):
        call_command("create_edition", "test", "next", "Next", "--drop", "SALW-99", "--user", "ana")
    with pytest.raises(CommandError, match="more than one fate"):
        call_command(
            "create_edition", "test", "next", "Next", "--map", "SALW-04=A", "--drop", "SALW-04", "--user", "ana"
        )
    assert not Edition.objects.filter(code="next").exists()


def test_reloading_the_catalogue_keeps_the_revised_edition_current(db):
    editor = get_user_model().objects.create_user("editor")
    load_catalogue()
    shipped = Edition.objects.get(code="2022-working")
    revised = create_edition(previous=shipped, code="2025", title="Revised catalogue (2025)", by=editor)

    summary = load_catalogue()

    assert (summary.created, summary.updated) == (0, 0)
    assert Edition.objects.current() == revised
    assert revised.measures.count() == 71
