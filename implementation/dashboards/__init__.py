"""
What the dashboards show, each page from a fixed number of queries whatever the number of
States, measures and history rows. A view calls one ``build_*`` function and renders its result;
templates lay it out, and ``html`` writes the fragments too numerous for template loops.

Who sees what: ``MemberState.objects.visible_to`` (a State's detail), ``can_read_aggregates`` and
``withholds_total`` (figures summed over States). A measure rated by too few States hidden from the
reader is withheld (``tallies.MeasureCounts``) and left out of every sum above it, so that no sum
can be taken apart again.
"""

# The views and the benchmark call the builders through the package.
from .overview import build_overview
from .region import build_region_board, build_region_table
from .state import TIMELINE_LENGTH, build_state_profile

__all__ = ["TIMELINE_LENGTH", "build_overview", "build_region_board", "build_region_table", "build_state_profile"]
