"""
World-map geometry for server-rendered SVG maps of the Member States.

The shapes are generated once by ``states/data/map/build_world_map.mjs`` into ``states/data/world_map.json``
(Natural Earth via world-atlas, Equal Earth projection, keyed by M49 code); nothing is fetched or computed
at run time.
"""

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

WORLD_MAP_PATH = Path(__file__).resolve().parent / "data" / "world_map.json"


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


@functools.cache
def load_world_map() -> dict:
    """The parsed ``world_map.json``: ``viewBox``, ``source``, ``states`` by M49 code and ``background``."""
    return json.loads(WORLD_MAP_PATH.read_text(encoding="utf-8"))


def shapes_for(states: Iterable[HasCodes]) -> WorldMap:
    """
    The map shapes of ``states`` (objects with ``.iso3`` and ``.m49``, such as ``MemberState``), one per
    State in the order given. A State whose M49 code has no shape raises ``KeyError``: the file covers all
    193 Member States, so that means a wrong code.
    """
    data = load_world_map()
    shapes = []
    for state in states:
        shape = data["states"][state.m49]
        shapes.append(Shape(state.iso3, shape["d"], shape["cx"], shape["cy"], shape["small"]))
    return WorldMap(view_box=data["viewBox"], shapes=tuple(shapes), background=data["background"]["d"])
