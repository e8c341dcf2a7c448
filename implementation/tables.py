"""
The tables behind each dashboard, keyed by the name used in ``?export=<name>``. A page
shows them as data tables beside its charts, and downloads them as CSV or XLSX, so
what people read and what they download are the same rows.
"""

from operator import itemgetter

from django.core.paginator import Paginator
from django.utils.translation import gettext, pgettext

from .dashboards.html import repetitive_table_rows
from .dashboards.tallies import STATUS_ORDER, Cell
from .exports import Column
from .exports import Table as ExportTable
from .filters import HEATMAP_COLUMNS
from .models import Rating

# Rows of a State's full timeline fetched at a time while an export is written.
TIMELINE_CHUNK = 2000


class Table(ExportTable):
    """A dashboard table, which a page also shows; its cells repeat few values, each written once."""

    def html_rows(self):
        return repetitive_table_rows(self.values())


class ValuesTable(Table):
    """A table whose rows are already the tuples of its columns' values, in the order of its headers."""

    def __init__(self, title, headers, rows):
        super().__init__(title=title, columns=[Column(h, itemgetter(i)) for i, h in enumerate(headers)], rows=rows)

    def values(self):
        return self.rows


def _label(status):
    # Plain text in the reader's language, not the lazy label: a table repeats it thousands of times.
    return str(status.label) if status else ""


def _yes(flag):
    # Translators: a table cell for a flag that is set (left empty when it is not).
    return pgettext("flag is set", "yes") if flag else ""


def _score(tally):
    score = tally.mean_score
    return None if score is None else round(score, 2)


def _count(tally, status):
    # A withheld total (dashboards.tallies.Tally.withhold) is left blank, not written as none of each status.
    return None if tally.withheld else tally.counts[status]


def _status_columns(get_tally):
    """Mean score, share implemented and one count per status, read through ``get_tally(row)``."""
    return [
        Column(gettext("Mean score (0-3)"), lambda row: _score(get_tally(row))),
        # xgettext:no-python-format
        Column(gettext("% implemented or largely"), lambda row: get_tally(row).percent_implemented),
        *[Column(_label(s), lambda row, status=s: _count(get_tally(row), status)) for s in STATUS_ORDER],
    ]


def overview_tables(board):
    return {
        "regions": Table(
            title=gettext("Workshop regions"),
            columns=[
                Column(gettext("Region"), "region.name"),
                Column(gettext("Member States"), "states"),
                Column(gettext("Workshop"), lambda card: card.workshop.starts_on if card.workshop else None),
                Column(
                    gettext("Workshop date approximate"),
                    lambda card: _yes(card.workshop and card.workshop.dates_approximate),
                ),
                Column(
                    gettext("Workshop status"),
                    lambda card: card.workshop.get_status_display() if card.workshop else "",
                ),
                *_status_columns(lambda card: card.tally),
            ],
            rows=board.regions,
        ),
        "states": Table(
            title=gettext("Member States"),
            columns=[
                Column(gettext("Member State"), "state.name"),
                # Translators: the column of each State's three-letter ISO code.
                Column(gettext("ISO3"), "state.iso3"),
                # Translators: the column of each State's region in the UN's M49 standard.
                Column(gettext("M49 region"), "state.m49_region"),
                Column(gettext("Level"), lambda row: _label(row.tally.level)),
                *_status_columns(lambda row: row.tally),
            ],
            rows=[row for row in board.states if row.shown],
        ),
    }


def region_tables(board):
    shown = board.shown_states
    region = {"region": board.region.name}
    return {
        "heatmap": heatmap_table(board.region, _heatmap_rows(board)),
        "states": Table(
            title=gettext("Member States, %(region)s") % region,
            columns=[
                Column(gettext("Member State"), "state.name"),
                Column(gettext("ISO3"), "state.iso3"),
                Column(gettext("Self-reports that differ"), "divergent"),
                *_status_columns(lambda row: row.tally),
            ],
            rows=shown,
        ),
        "domains": Table(
            title=gettext("By weapon domain, %(region)s") % region,
            columns=[
                Column(gettext("Weapon domain"), lambda item: str(item[0].label)),
                *_status_columns(lambda item: item[1]),
            ],
            rows=board.by_domain,
        ),
        "sections": Table(
            title=gettext("By section, %(region)s") % region,
            columns=[Column(gettext("Section"), lambda item: str(item[0])), *_status_columns(lambda item: item[1])],
            rows=board.by_section,
        ),
        "least": Table(
            title=gettext("Least implemented, %(region)s") % region,
            columns=[
                Column(gettext("Measure"), "measure.code"),
                Column(gettext("Title"), "measure.title"),
                *_status_columns(lambda item: item.tally),
            ],
            rows=board.least_implemented,
        ),
        "trend": Table(
            title=gettext("Trend, %(region)s") % region,
            columns=[
                Column(gettext("Quarter starting"), "quarter"),
                Column(
                    gettext("Mean score (0-3)"),
                    lambda point: None if point.mean_score is None else round(point.mean_score, 2),
                ),
                Column(gettext("Ratings scored"), "scored"),
            ],
            rows=board.trend,
        ),
        "needs": Table(
            title=gettext("Open assistance needs, %(region)s") % region,
            columns=[Column(gettext("Member State"), "state.name"), *_need_columns()],
            rows=board.needs,
        ),
    }


def heatmap_table(region, rows):
    """The table of a region's ratings: ``rows`` under the headers of ``filters.HEATMAP_COLUMNS``."""
    # Translators: the title of a table, e.g. "Ratings, Caribbean".
    title = gettext("Ratings, %(region)s") % {"region": region.name}
    return ValuesTable(title, [str(header) for header in HEATMAP_COLUMNS.values()], rows)


def region_table_tables(table):
    """The region's data table page (``dashboards.region.RegionTable``): its one table, every row, in order."""
    return {"heatmap": heatmap_table(table.region, sort_heatmap_rows(table, table.sort))}


def region_table_page(table, available, request):
    """
    The page of ``table``'s rows that ``request`` asks for (``?page=``), with its links, for its template;
    ``available`` holds the whole table, sorted once (``region_table_tables``).
    """
    whole = available["heatmap"]
    page = Paginator(whole.rows, table.page_size).get_page(request.GET.get("page"))
    return {
        "table": whole,
        "page": page,
        "pages": list(page.paginator.get_elided_page_range(page.number)),
        "page_rows": heatmap_table(table.region, page.object_list).html_rows(),
    }


def sort_heatmap_rows(board, sort):
    """
    The rows of ``board``'s heat-map table in the order of ``sort`` (a ``filters.heatmap_sorts`` value):
    States by name, statuses as the key lists them, sections as the catalogue does; ties by State, then
    measure in catalogue order, as the rows are made.
    """
    column = sort.removeprefix("-")
    rows = list(_heatmap_rows(board))
    # Stable, also reversed: rows of equal keys keep their order.
    rows.sort(key=_heatmap_sort_key(board, column), reverse=sort.startswith("-"))
    return rows


def _heatmap_sort_key(board, column):
    """A function of a row of ``_heatmap_rows`` giving its key in ``column``."""
    index = list(HEATMAP_COLUMNS).index(column)
    if column == "state":
        # By ISO3, which is unique, in the order of the names the database sorted.
        ranks = {row.state.iso3: rank for rank, row in enumerate(board.shown_states)}
        index = list(HEATMAP_COLUMNS).index("iso3")
    elif column == "section":
        ranks = {}
        for measure in board.measures:
            ranks.setdefault(str(measure.section), len(ranks))
    elif column in ("assessed", "reported"):
        ranks = {_label(status): rank for rank, status in enumerate(STATUS_ORDER)}
        ranks[""] = len(STATUS_ORDER)
    elif column == "title":
        return lambda values: values[index].casefold()
    else:
        return itemgetter(index)
    return lambda values: ranks[values[index]]


def _heatmap_rows(board):
    """
    One row per State shown × measure, its values in the order of the heat map's columns.
    Each State's and measure's values are read once, and each pair of statuses labelled
    once: the heat map of a large region has some 3,000 rows. Made as they are read (the
    table is read once, shown or downloaded), so that they are not all held at once.
    """
    measures = [(measure.pk, str(measure.section), measure.code, measure.title) for measure in board.measures]
    cells, empty, labelled, differs = board.cells, Cell(), {}, _yes(True)
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
                    differs if cell.diverges else "",
                )
            yield (name, iso3, section, code, title, *labels)


def state_tables(board):
    def rating_columns(attr, headers):
        """The columns of one side of each row, ``attr`` "assessed" or "reported", under ``headers``."""

        def read(field):
            return lambda row: getattr(getattr(row, attr), field, None) if getattr(row, attr) else None

        status, *others = headers
        fields = ["explanation", "justification", "source_document", "source_reference", "source_url"]
        fields += ["source_date", "last_confirmed_at"]
        return [
            Column(status, lambda row: _label(getattr(row.cell, f"{attr}_status"))),
            *(Column(header, read(field)) for header, field in zip(others, fields, strict=True)),
        ]

    # Each side's headers are whole phrases: "CTED assessment" and "Self-report" take
    # different words around them in other languages.
    assessed = [
        gettext("CTED assessment status"),
        gettext("CTED assessment explanation"),
        gettext("CTED assessment why not applicable"),
        gettext("CTED assessment source"),
        gettext("CTED assessment article or section"),
        gettext("CTED assessment source URL"),
        gettext("CTED assessment source date"),
        gettext("CTED assessment last confirmed"),
    ]
    reported = [
        gettext("Self-report status"),
        gettext("Self-report explanation"),
        gettext("Self-report why not applicable"),
        gettext("Self-report source"),
        gettext("Self-report article or section"),
        gettext("Self-report source URL"),
        gettext("Self-report source date"),
        gettext("Self-report last confirmed"),
    ]
    state = {"state": board.state.name}
    return {
        "summary": Table(
            # Translators: the title of a table, e.g. "CTED assessment by status, Jamaica".
            title=gettext("CTED assessment by status, %(state)s") % state,
            columns=[
                Column(pgettext("column header", "Status"), lambda segment: _label(segment.status)),
                Column(gettext("Measures"), "count"),
                # xgettext:no-python-format
                Column(gettext("% of measures assessed"), lambda segment: round(segment.percent)),
            ],
            rows=board.tally.segments,
        ),
        "ratings": Table(
            # Translators: the title of a table, e.g. "Ratings, Jamaica".
            title=gettext("Ratings, %(state)s") % state,
            columns=[
                Column(gettext("Section"), lambda row: str(row.measure.section)),
                Column(gettext("Measure"), "measure.code"),
                Column(gettext("Title"), "measure.title"),
                *rating_columns("assessed", assessed),
                Column(gettext("CTED assessment made in"), lambda row: str(row.assessment) if row.assessment else ""),
                *rating_columns("reported", reported),
                Column(gettext("Differs"), lambda row: _yes(row.cell.diverges)),
                Column(gettext("Not confirmed in 12 months"), lambda row: _yes(row.stale)),
            ],
            rows=board.rows,
        ),
        # The whole history of the State, not the page's latest changes: read in one
        # query, in chunks, and only when downloaded.
        "timeline": Table(
            title=gettext("Changes, %(state)s") % state,
            columns=[
                Column(gettext("When"), "history_date"),
                Column(gettext("Measure"), "measure.code"),
                Column(gettext("Rating"), lambda row: row.get_kind_display()),
                # Translators: the column of a rating's status before a change.
                Column(pgettext("column header", "From"), lambda row: _status_label(row.previous_status)),
                # Translators: the column of a rating's status after a change.
                Column(pgettext("column header", "To"), lambda row: _status_label(row.status)),
                Column(gettext("Why"), "shown_reason"),
                Column(gettext("Source"), "source_document"),
                # Translators: the column of who made a change.
                Column(
                    pgettext("column header", "By"),
                    lambda row: row.history_user.get_username() if row.history_user else "",
                ),
            ],
            rows=board.full_timeline.iterator(chunk_size=TIMELINE_CHUNK),
        ),
        "recommendations": Table(
            title=gettext("Open recommendations, %(state)s") % state,
            columns=[
                Column(gettext("Recommendation"), "text"),
                Column(gettext("Priority"), lambda item: item.get_priority_display()),
                Column(pgettext("column header", "Status"), lambda item: item.get_status_display()),
                # Translators: the column of the date a recommendation is due.
                Column(pgettext("column header", "Due"), "due_on"),
                Column(gettext("Measures"), lambda item: ", ".join(m.code for m in item.measures.all())),
            ],
            rows=board.recommendations,
        ),
        "needs": Table(
            title=gettext("Open assistance needs, %(state)s") % state,
            columns=_need_columns(),
            rows=board.needs,
        ),
    }


def _need_columns():
    """The columns of a list of technical-assistance needs (their measures prefetched)."""
    return [
        Column(gettext("Kind"), lambda need: need.get_kind_display()),
        Column(gettext("Description"), "description"),
        Column(gettext("Priority"), lambda need: need.get_priority_display()),
        Column(pgettext("column header", "Status"), lambda need: need.get_status_display()),
        Column(gettext("Provider"), "provider"),
        Column(gettext("Measures"), lambda need: ", ".join(m.code for m in need.measures.all())),
    ]


def notes(filters, board=None):
    """
    Lines for an export's "About" sheet: the filters that produced it, each by the label and
    the value its form shows, in the reader's language; dates as ISO dates. And, if the
    ``board`` withheld figures from this reader, why their cells are blank.
    """
    form, applied = filters.form, []
    for name, value in form.cleaned_data.items():
        if value in (None, ""):
            continue
        field = form.fields[name]
        shown = dict(getattr(field, "choices", ())).get(value, value)
        # Translators: a filter and its value on an export's "About" sheet, e.g. "Weapon domain: IED components".
        applied.append(gettext("%(filter)s: %(value)s") % {"filter": field.label or name, "value": shown})
    as_of = form.cleaned_data.get("as_of")
    return [
        # Translators: the filters an export was made with, listed after the colon, or "none".
        gettext("Filters: %(filters)s")
        % {"filters": "; ".join(applied) if applied else pgettext("no filters", "none")},
        # Translators: the day an export shows the ratings of, as an ISO date, or "today".
        gettext("As of: %(date)s") % {"date": as_of.isoformat() if as_of else gettext("today")},
    ] + ([_withheld_note(board)] if getattr(board, "withheld", False) else [])


def _withheld_note(board):
    # The sentences the page shows above the withheld figures (templates/implementation/region.html).
    note = gettext(
        "Figures that would count fewer than %(minimum)s Member States not shared with you are withheld: from them, "
        "anyone who knows the other States' ratings could work out those of one State."
    ) % {"minimum": board.min_hidden}
    if board.partial:
        note += " " + gettext("Totals leave out the measures whose figures are withheld.")
    return note


def _status_label(value):
    return str(Rating.Status(value).label) if value else ""
