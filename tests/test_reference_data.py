"""The reference-data files and load_reference_data: what they hold; loading is repeatable and all-or-nothing."""

import csv
import datetime as dt
import json
import re
import shutil
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from measures import services as measure_services
from measures.models import Edition, Measure, Section
from states import services as state_services
from states.models import MemberState, Region, RegionMembership, Workshop


def csv_rows():
    with (state_services.DATA_DIR / "member_states.csv").open(encoding="utf-8") as data:
        return list(csv.DictReader(data))


def load():
    """Run the command; returns what it printed."""
    out = StringIO()
    call_command("load_reference_data", stdout=out)
    return out.getvalue()


def row_counts():
    """Rows in every table, history and many-to-many tables included."""
    return {model._meta.label: model.objects.count() for model in apps.get_models(include_auto_created=True)}


def members(slug):
    return set(RegionMembership.objects.filter(region__slug=slug).values_list("state__iso3", flat=True))


@pytest.fixture
def loaded(db):
    """Every reference-data file loaded; the value is what the command printed."""
    return load()


def test_csv_lists_193_member_states_with_unique_codes_and_names():
    rows = csv_rows()
    assert len(rows) == 193
    for column in ("iso3", "iso2", "m49", "name"):
        assert len({row[column] for row in rows}) == 193, column
    assert all(re.fullmatch(r"[0-9]{3}", row["m49"]) for row in rows)


def test_load_creates_the_193_member_states(loaded):
    assert MemberState.objects.count() == 193


def test_member_states_carry_iso_and_m49_codes_and_regions(loaded):
    jam = MemberState.objects.get(iso3="JAM")
    assert (jam.iso2, jam.m49, jam.name, jam.m49_region, jam.m49_subregion) == (
        "JM",
        "388",
        "Jamaica",
        "Americas",
        "Caribbean",
    )
    ken = MemberState.objects.get(iso3="KEN")
    assert (ken.iso2, ken.m49, ken.m49_subregion) == ("KE", "404", "Eastern Africa")
    assert MemberState.objects.get(iso3="FRA").m49_region == "Europe"
    assert MemberState.objects.get(iso3="ALB").m49 == "008"


def test_workshop_regions_have_exactly_their_listed_members(loaded):
    assert set(Region.objects.values_list("slug", flat=True)) == {
        "europe",
        "sahel-maghreb",
        "caribbean",
        "east-africa",
    }
    assert set(Region.objects.values_list("kind", flat=True)) == {Region.Kind.WORKSHOP}
    assert members("sahel-maghreb") == {"DZA", "LBY", "MAR", "TUN", "MRT", "MLI", "NER", "TCD", "BFA"}
    assert members("caribbean") == set("ATG BHS BLZ BRB CUB DMA DOM GRD GUY HTI JAM KNA LCA SUR TTO VCT".split())
    assert members("east-africa") == set("BDI COD DJI ERI ETH KEN RWA SOM SSD SDN TZA UGA".split())
    assert not RegionMembership.objects.exclude(joined_on=None, left_on=None).exists()


def test_europe_is_every_member_state_m49_places_in_europe(loaded):
    assert members("europe") == {row["iso3"] for row in csv_rows() if row["m49_region"] == "Europe"}
    assert len(members("europe")) == 43


def test_workshops_are_dated_with_their_status(loaded):
    caribbean = Workshop.objects.get(region__slug="caribbean")
    assert (str(caribbean.starts_on), str(caribbean.ends_on), caribbean.dates_approximate) == (
        "2023-03-07",
        "2023-03-09",
        False,
    )
    assert (caribbean.mode, caribbean.status) == (Workshop.Mode.VIRTUAL, Workshop.Status.HELD)
    europe = Workshop.objects.get(region__slug="europe")
    assert (str(europe.starts_on), europe.dates_approximate, europe.status) == ("2022-04-01", True, "held")
    sahel = Workshop.objects.get(region__slug="sahel-maghreb")
    assert (str(sahel.starts_on), sahel.dates_approximate, sahel.status) == ("2023-02-01", True, "held")
    east_africa = Workshop.objects.get(region__slug="east-africa")
    assert (str(east_africa.starts_on), east_africa.dates_approximate) == ("2023-06-01", True)
    assert east_africa.status == Workshop.Status.PLANNED
    assert "No public source" in east_africa.source
    assert all(workshop.source for workshop in Workshop.objects.all())


def test_catalogue_is_one_current_working_edition_of_71_measures(loaded):
    edition = Edition.objects.get()
    assert (edition.code, edition.is_current, str(edition.published_on)) == ("2022-working", True, "2022-03-18")
    assert edition.provenance.startswith("Working catalogue derived from SCR 2370")
    assert list(Section.objects.values_list("code", flat=True)) == list("ABCDEFGH")
    assert Measure.objects.count() == 71
    assert not Measure.objects.filter(code__in=["SALW-12", "GOV-13", "DWN-12"]).exists()


def test_every_measure_has_a_capacity_and_an_instrument(loaded):
    codes = list(Measure.objects.values_list("code", flat=True))
    assert len(set(codes)) == len(codes) == 71
    assert not Measure.objects.filter(legislative=False, strategic=False, operational=False).exists()
    assert not Measure.objects.filter(instruments=None).exists()


def test_measures_keep_the_catalogue_classification(loaded):
    marking = Measure.objects.get(code="SALW-04")
    assert (marking.domain, marking.phase, marking.capacities) == ("salw", "upstream", ["Legislative", "Operational"])
    assert set(marking.instruments.values_list("code", flat=True)) == {"ITI", "FP"}
    assert "Firearms Protocol art. 8" in marking.basis
    assert Measure.objects.get(code="GOV-06").domain == Measure.Domain.CROSS_CUTTING


def test_loading_twice_writes_nothing(loaded):
    assert loaded.startswith("Reference data: 193 Member States, 4 regions, 4 workshops, 1 edition with 71 measures")
    before = row_counts()
    second = load()
    assert second == (
        "Reference data: 193 Member States, 4 regions, 4 workshops, 1 edition with 71 measures "
        "(0 created, 0 updated).\n"
    )
    assert row_counts() == before


def test_loading_puts_back_a_value_edited_since(loaded):
    measure = Measure.objects.get(code="SALW-04")
    measure.title = "Edited"
    measure.save()
    measure.instruments.clear()
    assert "(0 created, 1 updated)" in load()
    measure.refresh_from_db()
    assert measure.title == "Unique marking at manufacture and on import"
    assert set(measure.instruments.values_list("code", flat=True)) == {"ITI", "FP"}


def _copy_data(tmp_path, monkeypatch):
    """Point both loaders at copies of the data files in ``tmp_path``; returns the two copies' folders."""
    states_dir, measures_dir = tmp_path / "states", tmp_path / "measures"
    shutil.copytree(state_services.DATA_DIR, states_dir)
    shutil.copytree(measure_services.DATA_DIR, measures_dir)
    monkeypatch.setattr(state_services, "DATA_DIR", states_dir)
    monkeypatch.setattr(measure_services, "DATA_DIR", measures_dir)
    return states_dir, measures_dir


def test_unknown_iso3_in_a_region_stops_the_load_with_nothing_written(db, tmp_path, monkeypatch):
    states_dir, _ = _copy_data(tmp_path, monkeypatch)
    path = states_dir / "regions.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["regions"][2]["members"].append("XXX")
    path.write_text(json.dumps(data), encoding="utf-8")
    before = row_counts()

    with pytest.raises(CommandError) as error:
        load()

    assert str(path) in str(error.value)
    assert "region caribbean" in str(error.value)
    assert "'XXX' is not a Member State" in str(error.value)
    assert row_counts() == before


def test_unknown_instrument_in_a_measure_stops_the_load_with_nothing_written(db, tmp_path, monkeypatch):
    _, measures_dir = _copy_data(tmp_path, monkeypatch)
    path = measures_dir / "catalogue.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["edition"]["sections"][1]["measures"][3]["instruments"].append("NOPE")
    path.write_text(json.dumps(data), encoding="utf-8")
    before = row_counts()

    with pytest.raises(CommandError) as error:
        load()

    assert str(path) in str(error.value)
    assert "measure SALW-04" in str(error.value)
    assert "field instruments: 'NOPE'" in str(error.value)
    assert row_counts() == before


def test_invalid_value_is_reported_with_its_field(db, tmp_path, monkeypatch):
    _, measures_dir = _copy_data(tmp_path, monkeypatch)
    path = measures_dir / "catalogue.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["edition"]["sections"][0]["measures"][0]["domain"] = "drones"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(CommandError, match=r"measure GOV-01 of section A: domain: Value 'drones' is not a valid"):
        load()
    assert not MemberState.objects.exists()


def test_a_dated_member_updates_the_open_membership_not_a_closed_one(world, tmp_path):
    closed = RegionMembership.objects.create(
        region=world["caribbean"], state=world["jam"], joined_on=dt.date(2001, 1, 1), left_on=dt.date(2005, 1, 1)
    )
    path = tmp_path / "regions.json"
    region = {"slug": "caribbean", "name": "Caribbean", "kind": "workshop"}
    region["members"] = [{"iso3": "JAM", "joined_on": "2010-01-01"}, "TTO"]
    path.write_text(json.dumps({"regions": [region]}), encoding="utf-8")

    summary = state_services.load_regions(path)

    assert (summary.created, summary.updated) == (0, 1)
    open_membership = RegionMembership.objects.get(region=world["caribbean"], state=world["jam"], left_on=None)
    assert open_membership.joined_on == dt.date(2010, 1, 1)
    closed.refresh_from_db()
    assert (closed.joined_on, closed.left_on) == (dt.date(2001, 1, 1), dt.date(2005, 1, 1))


def test_a_member_that_has_left_updates_its_latest_membership(world, tmp_path):
    latest = world["east_africa"].memberships.get(state=world["ken"])
    latest.left_on = dt.date(2020, 1, 1)
    latest.save()
    earlier = RegionMembership.objects.create(
        region=world["east_africa"], state=world["ken"], left_on=dt.date(2010, 1, 1)
    )
    path = tmp_path / "regions.json"
    region = {"slug": "east-africa", "name": "East Africa", "kind": "workshop"}
    region["members"] = [{"iso3": "KEN", "joined_on": "2015-01-01", "left_on": "2020-01-01"}]
    path.write_text(json.dumps({"regions": [region]}), encoding="utf-8")

    state_services.load_regions(path)

    latest.refresh_from_db()
    earlier.refresh_from_db()
    assert (latest.joined_on, latest.left_on) == (dt.date(2015, 1, 1), dt.date(2020, 1, 1))
    assert (earlier.joined_on, earlier.left_on) == (None, dt.date(2010, 1, 1))
