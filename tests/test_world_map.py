"""
The committed world-map geometry covers every Member State and flags the ones too small to see.

Reads states/data/member_states.csv, states/data/world_map.json and the static outlines file directly:
no database.
"""

import csv
import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.staticfiles import finders

from states.worldmap import (
    OUTLINES_NAME,
    OUTLINES_PATH,
    WORLD_MAP_PATH,
    load_world_map,
    outlines_svg,
    shapes_for,
)

MEMBER_STATES_CSV = Path(__file__).resolve().parent.parent / "states" / "data" / "member_states.csv"
SIZE_BUDGET = 600_000  # bytes: the whole file is read once per process, and paths are inlined in pages

SMALL_STATES = ["ATG", "BRB", "DMA", "GRD", "KNA", "LCA", "VCT", "MLT", "AND", "LIE", "MCO", "SMR", "TUV", "NRU"]


@pytest.fixture(scope="module")
def member_states():
    with MEMBER_STATES_CSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 193
    return {row["iso3"]: row for row in rows}


@pytest.fixture(scope="module")
def world_map():
    return load_world_map()


def test_every_member_state_has_a_shape(member_states, world_map):
    missing = [iso3 for iso3, row in member_states.items() if row["m49"] not in world_map["states"]]
    assert missing == []


def test_the_map_has_no_shape_for_anything_but_member_states(member_states, world_map):
    assert set(world_map["states"]) == {row["m49"] for row in member_states.values()}


def test_paths_are_svg_paths(world_map):
    for m49, shape in world_map["states"].items():
        assert shape["d"].startswith("M"), m49
    assert world_map["background"]["d"].startswith("M")


def test_centroids_lie_inside_the_view_box(world_map):
    x0, y0, width, height = (float(n) for n in world_map["viewBox"].split())
    for m49, shape in world_map["states"].items():
        assert x0 <= shape["cx"] <= x0 + width, m49
        assert y0 <= shape["cy"] <= y0 + height, m49


@pytest.mark.parametrize("iso3", SMALL_STATES)
def test_small_states_are_present_and_flagged_small(iso3, member_states, world_map):
    shape = world_map["states"][member_states[iso3]["m49"]]
    assert shape["d"].startswith("M")
    assert shape["small"] is True


@pytest.mark.parametrize("iso3", ["JAM", "KEN", "FRA", "RUS"])
def test_states_of_every_size_are_present(iso3, member_states, world_map):
    assert world_map["states"][member_states[iso3]["m49"]]["d"].startswith("M")


def test_large_states_are_not_flagged_small(member_states, world_map):
    for iso3 in ["KEN", "FRA", "RUS", "BRA"]:
        assert world_map["states"][member_states[iso3]["m49"]]["small"] is False, iso3


def test_the_file_stays_within_its_size_budget():
    assert WORLD_MAP_PATH.stat().st_size < SIZE_BUDGET


def test_the_file_names_its_source(world_map):
    assert "Natural Earth" in world_map["source"]
    assert "world-atlas 2.0.2" in world_map["source"]


def test_shapes_for_returns_one_shape_per_state_in_the_order_given(member_states):
    given = [SimpleNamespace(iso3=iso3, m49=member_states[iso3]["m49"]) for iso3 in ["KEN", "JAM", "TUV", "FRA"]]

    world = shapes_for(given)

    assert [shape.iso3 for shape in world.shapes] == ["KEN", "JAM", "TUV", "FRA"]
    assert world.view_box == load_world_map()["viewBox"]
    assert world.shapes[2].small is True
    assert world.shapes[0].small is False
    assert all(shape.d.startswith("M") for shape in world.shapes)


def test_shapes_for_an_unknown_code_raises_key_error():
    with pytest.raises(KeyError):
        shapes_for([SimpleNamespace(iso3="XXX", m49="999")])


# The static outlines file that pages draw the States from


def test_the_committed_outlines_file_is_written_from_the_geometry():
    assert OUTLINES_PATH.read_text(encoding="utf-8") == outlines_svg(), (
        "static/map/world-outlines.svg is out of date: run `python -m states.worldmap` and commit it"
    )


def test_the_outlines_file_has_one_outline_per_member_state_and_the_land(member_states):
    ids = re.findall(r'<path id="([^"]+)" d="M', outlines_svg())
    assert sorted(ids) == sorted([*member_states, "land"])


def test_outlines_take_their_fill_and_stroke_from_the_page():
    svg = outlines_svg()
    assert "fill=" not in svg and "stroke" not in svg and "style=" not in svg
    # Inside <defs>: the file draws nothing by itself.
    assert svg.index("<defs>") < svg.index("<path") < svg.rindex("<path") < svg.index("</defs>")


def test_the_outlines_file_is_found_as_a_static_file():
    assert Path(finders.find(OUTLINES_NAME)) == OUTLINES_PATH


def test_the_outlines_address_carries_the_files_digest(settings):
    settings.STATIC_URL = "/static/"
    digest = hashlib.sha256(OUTLINES_PATH.read_bytes()).hexdigest()[:12]
    assert shapes_for([]).outlines_url == f"/static/map/world-outlines.svg?v={digest}"
