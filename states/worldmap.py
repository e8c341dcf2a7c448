"""
World-map geometry for server-rendered SVG maps, from ``states/data/world_map.json`` (built once by
``states/data/map/build_world_map.mjs``). The outlines never change, so pages ``<use>`` them from the cached static
file ``static/map/world-outlines.svg``, written by ``python -m states.worldmap``.
"""

import csv
import functools
import hashlib
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

WORLD_MAP_PATH = Path(__file__).resolve().parent / "data" / "world_map.json"
MEMBER_STATES_PATH = Path(__file__).resolve().parent / "data" / "member_states.csv"
# Under STATICFILES_DIRS, so collectstatic and the static finders serve it like any other file.
OUTLINES_NAME = "map/world-outlines.svg"
OUTLINES_PATH = Path(__file__).resolve().parent.parent / "static" / OUTLINES_NAME


class HasCodes(Protocol):
    iso3: str
    m49: str


@dataclass(frozen=True, slots=True)
class Shape:
    """One State on the map: an SVG path ``d`` and a marker point (``cx``, ``cy``) in viewBox units."""

    iso3: str
    d: str
    cx: float
    cy: float
    small: bool  # too small to see or click at world scale: draw a marker at (cx, cy) as well


@dataclass(frozen=True, slots=True)
class WorldMap:
    """The shapes to draw, in the order the States were given, and the SVG ``viewBox`` they fit."""

    view_box: str
    shapes: tuple[Shape, ...]
    background: str  # one path for the land of no Member State (Greenland, Western Sahara, ...)

    @property
    def outlines_url(self) -> str:
        return outlines_url()


@functools.cache
def load_world_map() -> dict:
    """The parsed ``world_map.json``: ``viewBox``, ``source``, ``states`` by M49 code and ``background``."""
    return json.loads(WORLD_MAP_PATH.read_text(encoding="utf-8"))


def shapes_for(states: Iterable[HasCodes]) -> WorldMap:
    """The map shapes of ``states`` (with ``.iso3`` and ``.m49``) in the order given; ``KeyError`` for a wrong code."""
    data = load_world_map()
    shapes = []
    for state in states:
        shape = data["states"][state.m49]
        shapes.append(Shape(state.iso3, shape["d"], shape["cx"], shape["cy"], shape["small"]))
    return WorldMap(view_box=data["viewBox"], shapes=tuple(shapes), background=data["background"]["d"])


def outlines_svg() -> str:
    """
    The static outlines file: ``<path id="land">`` and one path per State with its ISO3 code as id, in ``<defs>``,
    with no fill or stroke of their own: the ``<use>`` and the page's CSS give them.
    """
    data = load_world_map()
    with MEMBER_STATES_PATH.open(encoding="utf-8", newline="") as f:
        iso3_by_m49 = {row["m49"]: row["iso3"] for row in csv.DictReader(f)}
    paths = [f'<path id="land" d="{data["background"]["d"]}"/>']
    paths += [f'<path id="{iso3_by_m49[m49]}" d="{shape["d"]}"/>' for m49, shape in sorted(data["states"].items())]
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{data["viewBox"]}">',
            f"<!-- {html.escape(data['source'])}. Written by `python -m states.worldmap`. -->",
            "<defs>",
            *paths,
            "</defs>",
            "</svg>",
            "",
        ]
    )


@functools.cache
def outlines_version() -> str:
    """A digest of the committed outlines file, so that its address changes whenever its content does."""
    return hashlib.sha256(OUTLINES_PATH.read_bytes()).hexdigest()[:12]


def outlines_url() -> str:
    """The outlines file's address, versioned: a browser may keep it as long as it likes."""
    from django.templatetags.static import static

    return f"{static(OUTLINES_NAME)}?v={outlines_version()}"


if __name__ == "__main__":
    OUTLINES_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUTLINES_PATH.write_text(outlines_svg(), encoding="utf-8")
    print(f"Wrote {OUTLINES_PATH} ({OUTLINES_PATH.stat().st_size:,} bytes).")
