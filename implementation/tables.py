"""
The tables behind each dashboard, keyed by the name used in ``?export=<name>``. A page
shows them as data tables beside its charts, and downloads them as CSV or XLSX, so
what people read and what they download are the same rows.
"""

from operator import itemgetter

from django.utils.safestring import mark_safe

from .dashboards import STATUS_ORDER, Cell
from .exports import Column, _shown
from .exports import Table as ExportTable
from .models import Rating

# Rows of a State's full timeline fetched at a time while an export is written.
TIMELINE_CHUNK = 2000
_REUSED = frozenset({str, int})


class Table(ExportTable):
    """
    A dashboard table, which a page also shows. Its cells repeat few values (a region's
    heat-map table: 25,000 cells, a few hundred distinct texts), so each distinct value is
    localised and escaped once per page, as ``exports._shown`` writes it, then reused.
    """

    def html_rows(self):
        written = {}

        def cell(value):
            # Only text and whole numbers: equal values of those are always written alike
            # (unlike Decimal("1.0") and Decimal("1.00"), or 0.0 and -0.0).
            if value.__class__ not in _REUSED:
                return f"<td>{_shown(value)}</td>"
            text = written.get(value)
            if text is None:
                text = written[value] = f"<td>{_shown(value)}</td>"
            return text

        return mark_safe("".join(f"<tr>{''.join(map(cell, values))}</tr>" for values in self.values()))


class ValuesTable(Table):
    """A table whose rows are already the tuples of its columns' values, in the order of its headers."""

    def __init__(self, title, headers, rows):
        super().__init__(title=title, columns=[Column(h, itemgetter(i)) for i, h in enumerate(headers)], rows=rows)

    def values(self):
        return self.rows


def _label(status):
    return status.label if status else ""


def _score(tally):
    score = tally.mean_score
    return None if score is None else round(score, 2)


def _status_columns(get_tally):
    """Mean score, share implemented and one count per status, read through ``get_tally(row)``."""
    return [
        Column("Mean score (0-3)", lambda row: _score(get_tally(row))),
        Column("% implemented or largely", lambda row: get_tally(row).percent_implemented),
        *[Column(status.label, lambda row, status=status: get_tally(row).counts[status]) for status in STATUS_ORDER],
    ]


def overview_tables(board):
    return {
        "regions": Table(
            title="Workshop regions",
            columns=[
                Column("Region", "region.name"),
                Column("Member States", "states"),
                Column("Workshop", lambda card: card.workshop.starts_on if card.workshop else None),
                Column(
                    "Workshop date approximate",
                    lambda card: "yes" if card.workshop and card.workshop.dates_approximate else "",
                ),
                Column("Workshop status", lambda card: card.workshop.get_status_display() if card.workshop else ""),
                *_status_columns(lambda card: card.tally),
            ],
            rows=board.regions,
        ),
        "states": Table(
            title="Member States",
            columns=[
                Column("Member State", "state.name"),
                Column("ISO3", "state.iso3"),
                Column("M49 region", "state.m49_region"),
                Column("Level", lambda row: _label(row.tally.level)),
                *_status_columns(lambda row: row.tally),
            ],
            rows=[row for row in board.states if row.shown],
        ),
    }


def region_tables(board):
    shown = board.shown_states
    return {
        "heatmap": ValuesTable(
            f"Ratings, {board.region.name}",
            [
                "Member State",
                "ISO3",
                "Section",
                "Measure",
                "Title",
                "CTED assessment",
                "Self-report",
                "Self-report differs",
            ],
            _heatmap_rows(board),
        ),
        "states": Table(
            title=f"Member States, {board.region.name}",
            columns=[
                Column("Member State", "state.name"),
                Column("ISO3", "state.iso3"),
                Column("Self-reports that differ", "divergent"),
                *_status_columns(lambda row: row.tally),
            ],
            rows=shown,
        ),
        "domains": Table(
            title=f"By weapon domain, {board.region.name}",
            columns=[Column("Weapon domain", lambda item: item[0].label), *_status_columns(lambda item: item[1])],
            rows=board.by_domain,
        ),
        "sections": Table(
            title=f"By section, {board.region.name}",
            columns=[Column("Section", lambda item: str(item[0])), *_status_columns(lambda item: item[1])],
            rows=board.by_section,
        ),
        "least": Table(
            title=f"Least implemented, {board.region.name}",
            columns=[
                Column("Measure", "measure.code"),
                Column("Title", "measure.title"),
                *_status_columns(lambda item: item.tally),
            ],
            rows=board.least_implemented,
        ),
        "trend": Table(
            title=f"Trend, {board.region.name}",
            columns=[
                Column("Quarter starting", "quarter"),
                Column(
                    "Mean score (0-3)", lambda point: None if point.mean_score is None else round(point.mean_score, 2)
                ),
                Column("Ratings scored", "scored"),
            ],
            rows=board.trend,
        ),
        "needs": Table(
            title=f"Open assistance needs, {board.region.name}",
            columns=[Column("Member State", "state.name"), *_need_columns()],
            rows=board.needs,
        ),
    }


def _heatmap_rows(board):
    """
    One row per State shown × measure, its values in the order of the heat map's columns.
    Each State's and measure's values are read once, and each pair of statuses labelled
    once: the heat map of a large region has some 3,000 rows. Made as they are read (the
    table is read once, shown or downloaded), so that they are not all held at once.
    """
    measures = [(measure.pk, str(measure.section), measure.code, measure.title) for measure in board.measures]
    cells, empty, labelled = board.cells, Cell(), {}
    for row in board.shown_states:
        state_id, name, iso3 = row.state.pk, row.state.name, row.state.iso3
        for measure_id, section, code, title in measures:
            cell = cells.get((state_id, measure_id), empty)
            pair = (cell.assessed, cell.reported)
            labels = labelled.get(pair)
            if labels is None:
                labels = labelled[pair] = (
                    _label(cell.assessed_status),
                    _label(cell.reported_status),
                    "yes" if cell.diverges else "",
                )
            yield (name, iso3, section, code, title, *labels)


def state_tables(board):
    def rating_columns(prefix, attr):
        def read(field):
            return lambda row: getattr(getattr(row, attr), field, None) if getattr(row, attr) else None

        return [
            Column(f"{prefix} status", lambda row: _label(getattr(row.cell, f"{attr}_status"))),
            Column(f"{prefix} explanation", read("explanation")),
            Column(f"{prefix} why not applicable", read("justification")),
            Column(f"{prefix} source", read("source_document")),
            Column(f"{prefix} article or section", read("source_reference")),
            Column(f"{prefix} source URL", read("source_url")),
            Column(f"{prefix} source date", read("source_date")),
            Column(f"{prefix} last confirmed", read("last_confirmed_at")),
        ]

    name = board.state.name
    return {
        "summary": Table(
            title=f"CTED assessment by status, {name}",
            columns=[
                Column("Status", lambda segment: segment.status.label),
                Column("Measures", "count"),
                Column("% of measures assessed", lambda segment: round(segment.percent)),
            ],
            rows=board.tally.segments,
        ),
        "ratings": Table(
            title=f"Ratings, {name}",
            columns=[
                Column("Section", lambda row: str(row.measure.section)),
                Column("Measure", "measure.code"),
                Column("Title", "measure.title"),
                *rating_columns("CTED assessment", "assessed"),
                Column("CTED assessment made in", lambda row: str(row.assessment) if row.assessment else ""),
                *rating_columns("Self-report", "reported"),
                Column("Differs", lambda row: "yes" if row.cell.diverges else ""),
                Column("Not confirmed in 12 months", lambda row: "yes" if row.stale else ""),
            ],
            rows=board.rows,
        ),
        # The whole history of the State, not the page's latest changes: read in one
        # query, in chunks, and only when downloaded.
        "timeline": Table(
            title=f"Changes, {name}",
            columns=[
                Column("When", "history_date"),
                Column("Measure", "measure.code"),
                Column("Rating", lambda row: row.get_kind_display()),
                Column("From", lambda row: _status_label(row.previous_status)),
                Column("To", lambda row: _status_label(row.status)),
                Column("Why", "history_change_reason"),
                Column("Source", "source_document"),
                Column("By", lambda row: row.history_user.get_username() if row.history_user else ""),
            ],
            rows=board.full_timeline.iterator(chunk_size=TIMELINE_CHUNK),
        ),
        "recommendations": Table(
            title=f"Open recommendations, {name}",
            columns=[
                Column("Recommendation", "text"),
                Column("Priority", lambda item: item.get_priority_display()),
                Column("Status", lambda item: item.get_status_display()),
                Column("Due", "due_on"),
                Column("Measures", lambda item: ", ".join(m.code for m in item.measures.all())),
            ],
            rows=board.recommendations,
        ),
        "needs": Table(
            title=f"Open assistance needs, {name}",
            columns=_need_columns(),
            rows=board.needs,
        ),
    }


def _need_columns():
    """The columns of a list of technical-assistance needs (their measures prefetched)."""
    return [
        Column("Kind", lambda need: need.get_kind_display()),
        Column("Description", "description"),
        Column("Priority", lambda need: need.get_priority_display()),
        Column("Status", lambda need: need.get_status_display()),
        Column("Provider", "provider"),
        Column("Measures", lambda need: ", ".join(m.code for m in need.measures.all())),
    ]


def notes(filters):
    """Lines for an export's "About" sheet: the filters that produced it."""
    applied = [f"{name}: {value}" for name, value in filters.form.cleaned_data.items() if value not in (None, "")]
    return [
        "Filters: " + ("; ".join(applied) if applied else "none"),
        "As of: " + str(filters.form.cleaned_data.get("as_of") or "today"),
    ]


def _status_label(value):
    return Rating.Status(value).label if value else ""
