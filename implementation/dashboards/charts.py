"""A region's trend: the mean assessed score quarter by quarter, laid out as an SVG line chart."""

import dataclasses
import datetime as dt
import math

from django.utils.translation import get_language

from states.models import Workshop

from . import html
from .tallies import STATUS_ORDER
from .texts import texts


@dataclasses.dataclass
class TrendPoint:
    quarter: dt.date
    mean_score: float | None
    scored: int


def quarterly_trend(history_rows):
    """The mean assessed score at the end of each quarter, summed from ``score_changes_by_quarter``."""
    points, total, scored = [], 0, 0
    for row in history_rows.score_changes_by_quarter():
        total += row["score_change"]
        scored += row["scored_change"]
        quarter = row["quarter"]
        if isinstance(quarter, dt.datetime):
            quarter = quarter.date()
        points.append(TrendPoint(quarter=quarter, mean_score=total / scored if scored else None, scored=scored))
    return points


@dataclasses.dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    point: TrendPoint

    @property
    def quarter(self):
        day = self.point.quarter
        return texts(get_language()).quarter % {"quarter": (day.month - 1) // 3 + 1, "year": day.year}


@dataclasses.dataclass(frozen=True)
class ChartMark:
    x: float
    label_y: float
    anchor: str  # "start" or "end": the label sits after the line, or before it near the far edge
    workshop: Workshop

    @property
    def planned(self):
        return self.workshop.status == Workshop.Status.PLANNED

    @property
    def label_x(self):
        return self.x + 4 if self.anchor == "start" else self.x - 4


@dataclasses.dataclass
class TrendChart:
    """
    The trend's geometry in a ``width`` × ``height`` view box: years along the bottom, the mean
    score 0-3 up the side, a line through the quarters' means, a mark at each workshop.
    """

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    lines: list  # SVG path data, one per run of quarters that have a mean
    points: list[ChartPoint]
    x_ticks: list  # x of each 1 January
    years: list  # (x, year)
    y_ticks: list  # (y, label)
    marks: list[ChartMark]

    WIDTH, HEIGHT = 640, 260
    MARGINS = {"left": 188, "right": 16, "top": 48, "bottom": 30}
    # About how wide a character of the labels' 14-unit font is, in user units (Latin script; Arabic is narrower).
    CHARACTER_WIDTH = 7.3

    @classmethod
    def lay_out(cls, trend, workshops, *, end):
        if not trend:
            return None
        words = texts(get_language())
        scores = sorted((status.score, status) for status in STATUS_ORDER if status.score is not None)
        labels = [
            (score, words.score_label % {"score": score, "status": words.labels[status]}) for score, status in scores
        ]
        # Some languages name the statuses at greater length than English, whose labels fit the usual margin.
        longest = max(len(label) for _, label in labels)
        left = max(cls.MARGINS["left"], 16 + math.ceil(cls.CHARACTER_WIDTH * longest))
        top = cls.MARGINS["top"]
        right, bottom = cls.WIDTH - cls.MARGINS["right"], cls.HEIGHT - cls.MARGINS["bottom"]
        workshops = [w for w in workshops if w.status != Workshop.Status.CANCELLED]
        first = min([trend[0].quarter, *(w.starts_on for w in workshops)])
        last = max([end, *(w.starts_on for w in workshops)])
        start, stop = dt.date(first.year, 1, 1), dt.date(last.year + 1, 1, 1)
        span = (stop - start).days

        def x(day):
            return round(left + (right - left) * (day - start).days / span, 1)

        def y(score):
            return round(bottom - (bottom - top) * score / 3, 1)

        points, lines, run = [], [], []
        for point in trend:
            if point.mean_score is None:
                run = []
                continue
            # The mean holds at the end of the quarter (or on the day shown, if sooner).
            quarter_end = add_months(point.quarter, 3) - dt.timedelta(days=1)
            placed = ChartPoint(x(min(quarter_end, end)), y(point.mean_score), point)
            points.append(placed)
            if not run:
                lines.append(run)
            run.append(placed)
        paths = ["M" + " L".join(f"{p.x} {p.y}" for p in run) for run in lines]
        marks = []
        for index, workshop in enumerate(workshops):
            at = x(workshop.starts_on)
            anchor = "end" if at > left + (right - left) * 0.7 else "start"
            # Labels alternate between two lines so that workshops close in time do not overlap.
            marks.append(ChartMark(at, top - 8 - 16 * (index % 2), anchor, workshop))
        return cls(
            width=cls.WIDTH,
            height=cls.HEIGHT,
            left=left,
            right=right,
            top=top,
            bottom=bottom,
            lines=paths,
            points=points,
            x_ticks=[x(dt.date(year, 1, 1)) for year in range(start.year, stop.year + 1)],
            years=[(x(dt.date(year, 7, 2)), year) for year in range(start.year, stop.year)],
            y_ticks=[(y(score), label) for score, label in labels],
            marks=marks,
        )

    @property
    def year_label_y(self):
        return self.bottom + 20

    @property
    def score_label_x(self):
        return self.left - 8

    @property
    def points_svg(self):
        return html.trend_points(self.points)

    @property
    def first(self):
        return self.points[0] if self.points else None

    @property
    def last(self):
        return self.points[-1] if self.points else None


def add_months(day, months):
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)
