"""
The HTML that Python writes: the dashboards' fragments too numerous for template loops
(docs/performance.md, "HTML written in Python") and the tables' rows. The only module
that marks text safe; ``tests/test_dashboard_html.py`` holds each fragment to its template.
"""

import functools
import html
import types

from django.urls import reverse
from django.utils import translation
from django.utils.dates import MONTHS_3
from django.utils.formats import date_format, localize
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, gettext, ngettext, pgettext

from .texts import format_decimal, texts

STAND_IN = "QQQ"
SEGMENT = (
    '<rect x="{}" width="{}" height="6" fill="{}" stroke="#444" stroke-width="0.1" vector-effect="non-scaling-stroke">'
    "<title>{}</title></rect>"
)
MAP_STATE = '<use class="state" data-iso3="{}" href="{}#{}" fill="{}"/>'
MAP_MARKER = '<circle class="marker" cx="{}" cy="{}" r="3.5" fill="{}"/>'
MAP_LINK = '<a href="{}"><title>{}</title>{}</a>'
MAP_HIDDEN = '<g class="not-shared"><title>{}</title>{}</g>'
# A heat-map cell is two elements: its colour a class (tracker.css), its status a letter, the rest in the title.
HEAT_CELL = '<td><a class="{}" href="{}" title="{}">{}</a></td>'
HEAT_UNRATED = "–"
SIDE = '<div class="rating-side">\n  <p class="side-kind">{}</p>\n{}</div>\n'
# Table values written alike whenever they are equal (unlike Decimal("1.0") and Decimal("1.00")).
REUSED = frozenset({str, int})


def escape(value):
    """``value`` escaped as ``django.utils.html.escape`` does it, as plain ``str`` (docs/performance.md)."""
    return html.escape(str(value))


@functools.lru_cache(maxsize=8)
def html_texts(language):
    def escaped(value):
        if isinstance(value, str):
            return escape(value)
        if isinstance(value, dict):
            return {key: escaped(item) for key, item in value.items()}
        return value

    return types.SimpleNamespace(**{name: escaped(value) for name, value in vars(texts(language)).items()})


def state_urls():
    """A function of an ISO3 code giving the State's profile address: ``reverse`` once, for all States."""
    head, _, tail = reverse("state", args=[STAND_IN]).rpartition(STAND_IN)
    return lambda iso3: f"{head}{iso3}{tail}"


def format_date(value, format_string):
    """``value`` as ``{{ value|date:format_string }}`` writes it, the profile's two formats directly."""
    value = template_localtime(value)
    if format_string == "j M Y":
        return f"{value.day} {month_abbreviations(get_language())[value.month]} {value.year:04d}"
    if format_string == "c":
        return escape(value.isoformat())
    return escape(date_format(value, format_string))


@functools.lru_cache(maxsize=8)
def month_abbreviations(language):
    with translation.override(language):
        return [None, *(str(MONTHS_3[month]).title() for month in range(1, 13))]


def joined(fragments):
    return mark_safe("".join(fragments))


def status_badge(status):
    """A status's swatch and label, as the ``_charts.html#status_badge`` partial writes it."""
    return (
        f'<span class="status-badge"><svg class="swatch" width="12" height="12" aria-hidden="true" focusable="false">'
        f'<rect width="12" height="12" fill="{status.colour}" stroke="#444"/></svg> '
        f"{html_texts(get_language()).labels[status]}</span>"
    )


def segments_svg(tally):
    """A stacked bar's ``<rect>`` segments, growing from the inline start (the right on an RTL page)."""
    words = html_texts(get_language())
    parts = []
    for segment in tally.segments:
        # max(): 100 less the parts can come out a hair below 0, which would be written "-0.000".
        x = max(0.0, 100 - segment.start - segment.percent) if words.rtl else segment.start
        title = words.segment_title % {
            "status": words.labels[segment.status],
            "count": segment.count,
            "share": words.percent % {"share": format_decimal(segment.percent, 0)},
        }
        parts.append(SEGMENT.format(f"{x:.3f}", f"{segment.percent:.3f}", segment.status.colour, title))
    return mark_safe("".join(parts))


def bar_row(label, tally, *, href=None, differs=None):
    """A region page's ``<li class="bar-row">``: label, stacked bar, figures and how many self-reports differ."""
    words = html_texts(get_language())
    label = escape(label)
    name = f'<a href="{escape(href)}">{label}</a>' if href else label
    if tally.withheld:
        bar = f'<span class="muted">{words.withheld}</span>'
    elif tally.total:
        summary = words.named % {"name": label, "summary": escape(tally.segments_summary)}
        bar = (
            f'<svg class="stacked-bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
            f'aria-label="{summary}">{segments_svg(tally)}</svg>'
        )
    else:
        bar = f'<span class="muted">{words.no_ratings}</span>'
    if tally.scored:
        mean = words.out_of_3 % {"score": f"<strong>{format_decimal(tally.mean_score, 1)}</strong>"}
        share = words.percent % {"share": tally.percent_implemented}
        implemented = words.share_implemented % {"share": f"<strong>{share}</strong>"}
        figures = f'<span class="figure">{mean}</span>\n<span class="figure">{implemented}</span>'
    elif tally.total:
        figures = f'<span class="figure muted">{words.not_scored}</span>'
    else:
        figures = ""
    if not tally.withheld:
        # Translators: how many ratings a bar of the region page counts, e.g. "12 rated".
        rated = ngettext("%(count)s rated", "%(count)s rated", tally.total) % {"count": tally.total}
        figures += f'\n    <span class="figure muted">{escape(rated)}</span>'
    if tally.partial:
        figures += f'\n    <span class="figure muted">{words.partial}</span>'
    if differs is not None:
        differ = ngettext("%(count)s self-report differs", "%(count)s self-reports differ", differs) % {
            "count": differs
        }
        figures += f'\n    <span class="figure{"" if differs else " muted"}">{escape(differ)}</span>'
    return mark_safe(
        f'<li class="bar-row">\n  <span class="bar-name">{name}</span>\n'
        f'  <span class="bar-chart">{bar}</span>\n  <span class="bar-figures">{figures}</span>\n</li>\n'
    )


def world_map(overview):
    """Each State on the map: a ``<use>`` of its outline, a marker if small, in a link or a "not shared" group."""
    if overview.world_map is None:
        return ""
    outlines = escape(overview.world_map.outlines_url)
    state_url, named = state_urls(), texts(get_language()).named
    parts = []
    for item, shape in overview.map_states:
        iso3, fill = escape(shape.iso3), item.key.fill
        drawn = MAP_STATE.format(iso3, outlines, iso3, fill)
        if shape.small:
            drawn += MAP_MARKER.format(shape.cx, shape.cy, fill)
        if item.shown:
            url = escape(state_url(item.state.iso3))
            title = escape(named % {"name": item.state.name, "summary": item.summary})
            parts.append(MAP_LINK.format(url, title, drawn))
        else:
            parts.append(MAP_HIDDEN.format(escape(item.state.name), drawn))
    return mark_safe("\n".join(parts))


def heat_columns(states):
    """What each heat-map column's cells repeat, escaped once: (pk, profile address, rated, name)."""
    state_url = state_urls()
    return [(state.pk, escape(state_url(state.iso3)), state.rated, escape(state.name)) for state in states]


def heat_cells(measure, columns, cells, empty):
    code, measure_id, language = escape(measure.code), measure.pk, get_language()
    parts = []
    for state_id, url, rated, name in columns:
        cell = cells.get((state_id, measure_id), empty)
        css, title, letter = heat_cell(cell, language)
        href = f"{url}#measure-{code}" if rated else url
        parts.append(HEAT_CELL.format(css, href, title % {"state": name, "measure": code}, letter))
    return mark_safe("".join(parts))


# (assessed, reported, language) -> a heat-map cell's classes, title pattern and letter.
HEAT_CELLS = {}


def heat_cell(cell, language):
    """A cell's classes, its title still to be given the State and measure, and its letter: made once per pair."""
    key = (cell.assessed, cell.reported, language)
    parts = HEAT_CELLS.get(key)
    if parts is None:
        parts = HEAT_CELLS[key] = heat_cell_parts(cell, language)
    return parts


def heat_class(status):
    """The class that colours a heat-map cell or key swatch of ``status`` (None: no assessment), in tracker.css."""
    return f"hm-{status.value}" if status else "hm-none"


def heat_cell_parts(cell, language):
    assessed, reported = cell.assessed_status, cell.reported_status
    with translation.override(language):
        if cell.diverges:
            # Translators: the title of a heat-map cell, e.g. "Jamaica, SALW-04. CTED assessment: Implemented.
            # Self-report: Partially implemented (differs)."
            title = gettext(
                "%(state)s, %(measure)s. CTED assessment: %(assessed)s. Self-report: %(reported)s (differs)."
            )
        else:
            # Translators: the title of a heat-map cell, e.g. "Jamaica, SALW-04. CTED assessment: Implemented.
            # Self-report: none."
            title = gettext("%(state)s, %(measure)s. CTED assessment: %(assessed)s. Self-report: %(reported)s.")
        # Translators: a heat-map cell's status where there is no rating.
        none = pgettext("no status", "none")
        # The labels' own "%" doubled, so that only the State and measure are filled in later.
        title = (
            escape(title)
            .replace("%(assessed)s", escape(assessed.label if assessed else none).replace("%", "%%"))
            .replace("%(reported)s", escape(reported.label if reported else none).replace("%", "%%"))
        )
        letter = escape(assessed.abbreviation) if assessed else HEAT_UNRATED
    css = heat_class(assessed) + (" hm-differs" if cell.diverges else "")
    return css, title, letter


def trend_points(points):
    parts = []
    for p in points:
        # Translators: a point of the trend chart, e.g. "Q3 2025: mean score 2.25 over 40 rated measures".
        title = ngettext(
            "%(quarter)s: mean score %(score)s over %(count)s rated measure",
            "%(quarter)s: mean score %(score)s over %(count)s rated measures",
            p.point.scored,
        ) % {"quarter": p.quarter, "score": format_decimal(p.point.mean_score, 2), "count": p.point.scored}
        circle = f'<circle class="trend-point" cx="{p.x}" cy="{p.y}" r="4">'
        parts.append(f"{circle}<title>{escape(title)}</title></circle>")
    return mark_safe("".join(parts))


def rating_side(side):
    words = html_texts(get_language())
    kind = words.kinds[side.kind]
    rating = side.rating
    if not rating:
        return mark_safe(SIDE.format(kind, f'  <p class="muted side-text">{words.not_rated}</p>\n'))
    parts = [f'  <p class="side-status">{status_badge(side.status)}</p>\n']
    if rating.explanation:
        parts.append(f'  <p class="side-text">{escape(rating.explanation)}</p>\n')
    if side.not_applicable:
        # <bdi>: typed text keeps its own direction inside a sentence of the page's language.
        why = f"<bdi>{escape(rating.justification)}</bdi>" if rating.justification else words.not_given
        parts.append(f'  <p class="side-text"><strong>{words.why_not_applicable}</strong> {why}</p>\n')
    if rating.source_document or rating.source_url:
        source = f"<cite>{escape(rating.source_document)}</cite>" if rating.source_document else ""
        if rating.source_reference:
            source += f", <bdi>{escape(rating.source_reference)}</bdi>"
        if rating.source_date:
            source += f", {format_date(rating.source_date, 'j M Y')}"
        if rating.source_url:
            url = escape(rating.source_url)
            source += f'\n    <br><a class="source-url" href="{url}" rel="noopener noreferrer">{url}</a>'
        label = words.source
        parts.append(f'  <p class="side-source"><span class="side-label">{label}</span>\n    {source}\n  </p>\n')
    else:
        parts.append(f'  <p class="side-source muted">{words.no_source}</p>\n')
    meta = ""
    if side.assessment:
        assessment = side.assessment
        made_in = words.from_assessment % {
            "kind": escape(assessment.get_kind_display().lower()),
            "date": format_date(assessment.conducted_on, "j M Y"),
        }
        meta = f"{made_in} · "
    confirmed = rating.last_confirmed_at
    when = f'<time datetime="{format_date(confirmed, "c")}">{format_date(confirmed, "j M Y")}</time>'
    meta += words.last_confirmed % {"date": when} + (
        f' <span class="flag flag-stale">{words.over_12_months}</span>' if side.stale else ""
    )
    parts.append(f'  <p class="side-meta">{meta}</p>\n')
    return mark_safe(SIDE.format(kind, "".join(parts)))


def timeline_rows(timeline):
    words = html_texts(get_language())
    return mark_safe("".join(timeline_row(change, words) for change in timeline))


def timeline_row(change, words):
    when = change.history_date
    by = change.history_user.get_username() if change.history_user else ""
    label = words.timeline_labels
    time = f'<time datetime="{format_date(when, "c")}">{format_date(when, "j M Y")}</time>'
    return (
        "\n        <tr>\n"
        f'          <td data-label="{label["when"]}">{time}</td>\n'
        f'          <td data-label="{label["measure"]}">{escape(change.measure.code)}</td>\n'
        f'          <td data-label="{label["rating"]}">{words.kinds[change.kind]}</td>\n'
        f'          <td data-label="{label["change"]}">{change_badges(change, words)}</td>\n'
        f'          <td data-label="{label["why"]}">{escape(change.shown_reason or "–")}</td>\n'
        f'          <td data-label="{label["source"]}">{escape(change.source_document or "–")}</td>\n'
        f'          <td data-label="{label["by"]}">{escape(by or "–")}</td>\n'
        "        </tr>"
    )


def change_badges(change, words):
    if change.removed:
        return words.rating_removed
    after = status_badge(change.after)
    if change.before is None:
        return f'<span class="muted">{words.new}</span> {after}'
    if change.before == change.after:
        return f'{after} <span class="muted">{words.unchanged}</span>'
    arrow = f'<span aria-label="{words.to}">{words.arrow}</span>'
    return f"{status_badge(change.before)} {arrow} {after}"


def need_summaries(needs):
    """Each need's line in a region page's list, set as its ``summary_html``; the needs, as a list."""
    needs, state_url = list(needs), state_urls()
    named = html_texts(get_language()).named
    # Translators: a technical-assistance need's priority and status, e.g. "(high priority, requested)".
    standing = escape(gettext("(%(priority)s priority, %(status)s)"))
    # Translators: the measures a technical-assistance need concerns, e.g. "Measures: SALW-04, SALW-06."
    concerns = escape(gettext("Measures: %(codes)s."))
    for need in needs:
        measures = ", ".join(f'<span class="code">{escape(m.code)}</span>' for m in need.measures.all())
        state = f'<a href="{escape(state_url(need.state.iso3))}">{escape(need.state.name)}</a>'
        priority, status = need.get_priority_display().lower(), need.get_status_display().lower()
        need.summary_html = mark_safe(
            f"<li>{named % {'name': state, 'summary': escape(need.get_kind_display())}}\n"
            f'  <span class="muted">{standing % {"priority": escape(priority), "status": escape(status)}}</span>\n'
            f"  <br>{escape(Truncator(need.description).words(24, truncate=' …'))}"
            + (f' <span class="muted">{concerns % {"codes": measures}}</span>' if measures else "")
            + "</li>"
        )
    return needs


def cell_text(value):
    """``value`` as a template would write it: localised, in the current time zone, escaped; "–" if None."""
    return "–" if value is None else html.escape(str(localize(template_localtime(value))))


def table_rows(rows):
    return mark_safe(
        "".join("<tr>" + "".join(f"<td>{cell_text(value)}</td>" for value in values) + "</tr>" for values in rows)
    )


def repetitive_table_rows(rows):
    """``table_rows``, each distinct text or whole number written once and reused (a heat-map table)."""
    written = {}

    def cell(value):
        if value.__class__ not in REUSED:
            return f"<td>{cell_text(value)}</td>"
        text = written.get(value)
        if text is None:
            text = written[value] = f"<td>{cell_text(value)}</td>"
        return text

    return mark_safe("".join(f"<tr>{''.join(map(cell, values))}</tr>" for values in rows))
