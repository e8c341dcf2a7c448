"""
The fragments that ``implementation.dashboards.html`` writes in Python, each held to the same
fragment written by a small Django template: a change to either's markup makes them differ.
"""

import datetime as dt
import types
from collections import Counter
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation
from django.utils.safestring import SafeString

from implementation.dashboards import html
from implementation.dashboards.charts import ChartPoint, TrendPoint
from implementation.dashboards.overview import NO_RATINGS, MapState, Overview
from implementation.dashboards.region import HeatRow
from implementation.dashboards.state import RatingSide
from implementation.dashboards.tallies import Cell, Tally
from implementation.models import Rating
from states.models import MemberState
from states.worldmap import shapes_for

Status = Rating.Status
NASTY = "<b>&\"'</b>"
ARABIC = "جامايكا"
WHEN = dt.datetime(2025, 3, 4, 10, 30, tzinfo=dt.UTC)


def render(source, **context):
    return engines["django"].from_string("{% load i18n %}" + source).render(context)


BADGE = (
    '<span class="status-badge"><svg class="swatch" width="12" height="12" aria-hidden="true" focusable="false">'
    '<rect width="12" height="12" fill="{{ status.colour }}" stroke="#444"/></svg> {{ status.label }}</span>'
)


@pytest.mark.parametrize("value", [NASTY, "", ARABIC, 12, None, Decimal("1.50")])
def test_escape_writes_what_a_template_writes(value):
    assert html.escape(value) == render("{{ value }}", value=value if value is not None else "None")


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("status", list(Status))
def test_status_badge_matches_the_charts_partial(language, status):
    with translation.override(language):
        partial = render('{% include "implementation/_charts.html#status_badge" %}', status=status)
        assert html.status_badge(status) == partial.strip() == render(BADGE, status=status)


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
@pytest.mark.parametrize("value", [WHEN, dt.date(2024, 12, 31)])
@pytest.mark.parametrize("format_string", ["j M Y", "c", "N j, Y"])
def test_format_date_matches_the_date_filter(language, value, format_string):
    with translation.override(language):
        assert html.format_date(value, format_string) == render("{{ value|date:f }}", value=value, f=format_string)
        assert html.month_abbreviations(language)[value.month] == render('{{ value|date:"M" }}', value=value)


def test_state_urls_match_the_url_tag():
    assert html.state_urls()("JAM") == render("{% url 'state' 'JAM' %}")


def test_html_texts_are_the_texts_escaped():
    with translation.override("ar"):
        words = html.html_texts("ar")
        assert words.labels[Status.LARGELY] == render("{{ s.label }}", s=Status.LARGELY)
        assert words.timeline_labels["by"] == render('{% translate "By" context "column header" %}')


def test_joined_marks_the_joined_fragments_safe():
    assert isinstance(html.joined(["<a>", "</a>"]), SafeString)
    assert html.joined(["<a>", "</a>"]) == render(
        "{% for f in fragments %}{{ f|safe }}{% endfor %}", fragments=["<a>", "</a>"]
    )


SEGMENTS = (
    "{% for s in segments %}"
    '<rect x="{{ s.x|stringformat:".3f" }}" width="{{ s.percent|stringformat:".3f" }}" height="6" '
    'fill="{{ s.status.colour }}" stroke="#444" stroke-width="0.1" vector-effect="non-scaling-stroke">'
    "<title>{% blocktranslate with status=s.status.label count=s.count share=s.share %}"
    "{{ status }}: {{ count }} ({{ share }}){% endblocktranslate %}</title></rect>"
    "{% endfor %}"
)


def segments_context(tally, rtl):
    segments = []
    for segment in tally.segments:
        share = render(
            "{% blocktranslate with share=p|floatformat:0 %}{{ share }}%{% endblocktranslate %}", p=segment.percent
        )
        x = max(0.0, 100 - segment.start - segment.percent) if rtl else segment.start
        segments.append(
            {"x": x, "percent": segment.percent, "status": segment.status, "count": segment.count, "share": share}
        )
    return segments


EVERY_STATUS = Tally(Counter({status: index + 1 for index, status in enumerate(Status)}))


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("tally", [EVERY_STATUS, Tally(Counter({Status.PARTIALLY: 3})), Tally()])
def test_segments_svg_matches_a_template_loop(language, tally):
    with translation.override(language):
        expected = render(SEGMENTS, segments=segments_context(tally, rtl=language == "ar"))
        assert html.segments_svg(tally) == expected
        assert tally.segments_svg == expected


BAR_ROW = (
    '<li class="bar-row">\n  <span class="bar-name">{% if href %}<a href="{{ href }}">{{ label }}</a>{% else %}'
    '{{ label }}{% endif %}</span>\n  <span class="bar-chart">{% if tally.withheld %}<span class="muted">'
    "Withheld: it counts fewer than {{ tally.min_hidden }} States not shared with you</span>{% elif tally.total %}"
    '<svg class="stacked-bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
    'aria-label="{{ label }}: {{ tally.segments_summary }}">{{ tally.segments_svg }}</svg>'
    '{% else %}<span class="muted">No ratings</span>{% endif %}</span>\n  <span class="bar-figures">'
    '{% if tally.scored %}<span class="figure"><strong>{{ tally.mean_score|floatformat:1 }}</strong> / 3</span>\n'
    '<span class="figure"><strong>{{ tally.percent_implemented }}%</strong> implemented</span>'
    '{% elif tally.total %}<span class="figure muted">not scored</span>{% endif %}'
    '{% if not tally.withheld %}\n    <span class="figure muted">{{ tally.total }} rated</span>{% endif %}'
    '{% if tally.partial %}\n    <span class="figure muted">withheld measures left out</span>{% endif %}'
    '{% if differs is not None %}\n    <span class="figure{% if not differs %} muted{% endif %}">{{ differs }} '
    "self-report{{ differs|pluralize:' differs,s differ' }}</span>{% endif %}"
    "</span>\n</li>\n"
)


def withheld_tally():
    tally = Tally(hidden={1})
    return tally.withhold(2)


def partial_tally():
    tally = Tally(Counter({Status.IMPLEMENTED: 2}))
    tally.partial = True
    return tally


@pytest.mark.parametrize(
    ("label", "tally", "href", "differs"),
    [
        (NASTY, EVERY_STATUS, "/states/JAM/?a=1&b=2", 2),
        (ARABIC, Tally(Counter({Status.IMPLEMENTED: 1})), None, 1),
        ("Empty", Tally(), None, None),
        ("Not scored", Tally(Counter({Status.NOT_APPLICABLE: 2})), None, 0),
        ("Withheld", withheld_tally(), None, None),
        ("Partial", partial_tally(), None, None),
    ],
)
def test_bar_row_matches_a_template(label, tally, href, differs):
    expected = render(BAR_ROW, label=label, tally=tally, href=href, differs=differs)
    assert html.bar_row(label, tally, href=href, differs=differs) == expected


MAP = (
    "{% for item, shape in pairs %}"
    '{% if item.shown %}<a href="{% url "state" item.state.iso3 %}"><title>{{ item.state.name }}: {{ item.summary }}'
    '</title>{% else %}<g class="not-shared"><title>{{ item.state.name }}</title>{% endif %}'
    '<use class="state" data-iso3="{{ shape.iso3 }}" href="{{ outlines }}#{{ shape.iso3 }}" '
    'fill="{{ item.key.fill }}"/>'
    '{% if shape.small %}<circle class="marker" cx="{{ shape.cx }}" cy="{{ shape.cy }}" r="3.5" '
    'fill="{{ item.key.fill }}"/>{% endif %}{% if item.shown %}</a>{% else %}</g>{% endif %}'
    "{% if not forloop.last %}\n{% endif %}{% endfor %}"
)


def test_world_map_matches_a_template_loop():
    states = [
        MemberState(iso3="JAM", m49="388", name=NASTY),
        MemberState(iso3="KEN", m49="404", name=ARABIC),
        MemberState(iso3="TTO", m49="780", name="Trinidad and Tobago"),
    ]
    overview = Overview(
        as_of=None,
        states=[
            MapState(states[0], True, Tally(Counter({Status.LARGELY: 2}))),
            MapState(states[1], False, Tally()),
            MapState(states[2], True, Tally()),
        ],
        regions=[],
        world_map=shapes_for(states),
    )
    assert overview.states[2].key == NO_RATINGS
    assert any(shape.small for _, shape in overview.map_states)
    expected = render(MAP, pairs=overview.map_states, outlines=overview.world_map.outlines_url)
    assert html.world_map(overview) == overview.map_html == expected
    assert html.world_map(Overview(as_of=None, states=[], regions=[])) == ""


HEAT_CELLS = (
    "{% for state, cell in row %}"
    '<td><a class="hm-{{ cell.assessed|default:"none" }}{% if cell.diverges %} hm-differs{% endif %}" '
    'href="{% url "state" state.iso3 %}{% if state.rated %}#measure-{{ measure.code }}{% endif %}" '
    'title="{{ state.name }}, {{ measure.code }}. CTED assessment: '
    "{{ cell.assessed_status.label|default:'none' }}. Self-report: {{ cell.reported_status.label|default:'none' }}"
    '{% if cell.diverges %} (differs){% endif %}.">'
    "{% if cell.assessed %}{{ cell.assessed_status.abbreviation }}{% else %}–{% endif %}</a></td>"
    "{% endfor %}"
)


def test_heat_cells_match_a_template_loop():
    states = [
        MemberState(pk=pk, iso3=iso3, name=name)
        for pk, iso3, name in [(1, "JAM", NASTY), (2, "KEN", ARABIC), (3, "TTO", "Trinidad & Tobago"), (4, "BRB", "B")]
    ]
    for state in states:
        state.rated = state.pk != 4
    measure = types.SimpleNamespace(pk=7, code="SALW-04&")
    cells = {
        (1, 7): Cell(Status.IMPLEMENTED, Status.PARTIALLY),
        (2, 7): Cell(Status.NOT_APPLICABLE, Status.NOT_APPLICABLE),
        (3, 7): Cell(None, Status.LARGELY),
    }
    row = HeatRow(measure, html.heat_columns(states), cells)
    for assessed in [*Status, None]:
        cells[4, 7] = Cell(assessed, Status.NO_INFORMATION)
        expected = render(HEAT_CELLS, measure=measure, row=[(s, cells.get((s.pk, 7), Cell())) for s in states])
        assert row.cells_html == html.heat_cells(measure, row.columns, cells, Cell()) == expected


TREND_POINTS = (
    "{% for p in points %}"
    '<circle class="trend-point" cx="{{ p.x }}" cy="{{ p.y }}" r="4"><title>{{ p.quarter }}: mean score '
    "{{ p.point.mean_score|floatformat:2 }} over {{ p.point.scored }} rated measure{{ p.point.scored|pluralize }}"
    "</title></circle>{% endfor %}"
)


def test_trend_points_match_a_template_loop():
    points = [
        ChartPoint(200.5, 48.0, TrendPoint(dt.date(2024, 1, 1), 3.0, 1)),
        ChartPoint(300.0, 120.3, TrendPoint(dt.date(2024, 10, 1), 1.125, 40)),
    ]
    assert html.trend_points(points) == render(TREND_POINTS, points=points)
    assert html.trend_points([]) == ""


SIDE = (
    '<div class="rating-side">\n  <p class="side-kind">{{ side.kind.label }}</p>\n'
    "{% if not r %}"
    '  <p class="muted side-text">Not rated yet.</p>\n'
    "{% else %}"
    '  <p class="side-status">' + BADGE.replace("status.", "side.status.") + "</p>\n"
    '{% if r.explanation %}  <p class="side-text">{{ r.explanation }}</p>\n{% endif %}'
    '{% if side.not_applicable %}  <p class="side-text"><strong>Why not applicable:</strong> '
    "{% if r.justification %}<bdi>{{ r.justification }}</bdi>{% else %}not given{% endif %}</p>\n{% endif %}"
    "{% if r.source_document or r.source_url %}"
    '  <p class="side-source"><span class="side-label">Source:</span>\n    '
    "{% if r.source_document %}<cite>{{ r.source_document }}</cite>{% endif %}"
    "{% if r.source_reference %}, <bdi>{{ r.source_reference }}</bdi>{% endif %}"
    '{% if r.source_date %}, {{ r.source_date|date:"j M Y" }}{% endif %}'
    '{% if r.source_url %}\n    <br><a class="source-url" href="{{ r.source_url }}" rel="noopener noreferrer">'
    "{{ r.source_url }}</a>{% endif %}\n  </p>\n"
    '{% else %}  <p class="side-source muted">No source cited.</p>\n{% endif %}'
    '  <p class="side-meta">{% if side.assessment %}From the {{ side.assessment.get_kind_display|lower }} of '
    '{{ side.assessment.conducted_on|date:"j M Y" }} · {% endif %}Last confirmed '
    '<time datetime="{{ r.last_confirmed_at|date:"c" }}">{{ r.last_confirmed_at|date:"j M Y" }}</time>'
    '{% if side.stale %} <span class="flag flag-stale">over 12 months ago</span>{% endif %}</p>\n'
    "{% endif %}</div>\n"
)


def rating(status, **fields):
    values = {
        "explanation": "",
        "justification": "",
        "source_document": "",
        "source_reference": "",
        "source_date": None,
        "source_url": "",
        "last_confirmed_at": WHEN,
    }
    return types.SimpleNamespace(status=status, **{**values, **fields})


ASSESSMENT = types.SimpleNamespace(get_kind_display=lambda: "Country <visit>", conducted_on=dt.date(2024, 3, 14))
FULL = {
    "explanation": NASTY,
    "justification": ARABIC,
    "source_document": "Act & <Order>",
    "source_reference": "s. 4 \"quoted\" 'single'",
    "source_date": dt.date(2023, 7, 1),
    "source_url": "https://example.org/?a=1&b='2'",
}


@pytest.mark.parametrize(
    "side",
    [
        RatingSide(Rating.Kind.ASSESSED, None, stale=False),
        RatingSide(Rating.Kind.SELF_REPORTED, rating(Status.NO_INFORMATION), stale=True),
        RatingSide(Rating.Kind.ASSESSED, rating(Status.NOT_APPLICABLE, **FULL), stale=False, assessment=ASSESSMENT),
        RatingSide(Rating.Kind.ASSESSED, rating(Status.NOT_APPLICABLE), stale=True, assessment=ASSESSMENT),
        RatingSide(Rating.Kind.ASSESSED, rating(Status.LARGELY, source_url="https://example.org/"), stale=False),
        *(RatingSide(Rating.Kind.ASSESSED, rating(s, source_document="Act"), stale=False) for s in Status),
    ],
)
def test_rating_side_matches_a_template(side):
    expected = render(SIDE, side=side, r=side.rating)
    assert html.rating_side(side) == side.html == expected


TIMELINE = (
    "{% for c in timeline %}\n        <tr>\n"
    '          <td data-label="When"><time datetime="{{ c.history_date|date:"c" }}">'
    '{{ c.history_date|date:"j M Y" }}</time></td>\n'
    '          <td data-label="Measure">{{ c.measure.code }}</td>\n'
    '          <td data-label="Rating">{{ c.get_kind_display }}</td>\n'
    '          <td data-label="Change">{% if c.removed %}Rating removed{% elif c.before is None %}'
    '<span class="muted">new:</span> {% with status=c.after %}' + BADGE + "{% endwith %}"
    "{% elif c.before == c.after %}{% with status=c.after %}" + BADGE + '{% endwith %} <span class="muted">'
    "(unchanged)</span>{% else %}{% with status=c.before %}" + BADGE + "{% endwith %} "
    '<span aria-label="to">{{ arrow }}</span> {% with status=c.after %}' + BADGE + "{% endwith %}{% endif %}</td>\n"
    '          <td data-label="Why">{{ c.shown_reason|default:"–" }}</td>\n'
    '          <td data-label="Source">{{ c.source_document|default:"–" }}</td>\n'
    '          <td data-label="By">{{ c.history_user.get_username|default:"–" }}</td>\n'
    "        </tr>{% endfor %}"
)


def change(before, after, *, removed=False, user=None, reason="", source=""):
    return types.SimpleNamespace(
        history_date=WHEN,
        measure=types.SimpleNamespace(code="SALW-04"),
        kind=Rating.Kind.ASSESSED,
        get_kind_display=lambda: Rating.Kind.ASSESSED.label,
        before=before,
        after=after,
        removed=removed,
        history_user=types.SimpleNamespace(get_username=lambda: user) if user else None,
        shown_reason=reason,
        source_document=source,
    )


@pytest.mark.parametrize("arrow", ["→", "←"])
def test_timeline_rows_match_a_template_loop(arrow):
    timeline = [
        change(None, Status.IMPLEMENTED, user="ana<&>", reason=NASTY, source=ARABIC),
        change(Status.LARGELY, Status.LARGELY),
        change(Status.PARTIALLY, Status.LARGELY, removed=True),
        *(change(Status.NOT_IMPLEMENTED, status, user="ken") for status in Status if status != Status.NOT_IMPLEMENTED),
    ]
    with translation.override("ar" if arrow == "←" else "en"):
        # The labels in the reader's language, the rest of the row as in English.
        words = html.html_texts(translation.get_language())
        expected = render(TIMELINE, timeline=timeline, arrow=arrow)
        for english, label in [("Rating removed", words.rating_removed), ('"to"', f'"{words.to}"')]:
            expected = expected.replace(english, label)
        for english, label in [("When", "when"), ("Measure", "measure"), ("Rating", "rating"), ("Change", "change")]:
            expected = expected.replace(f'data-label="{english}"', f'data-label="{words.timeline_labels[label]}"')
        for english, label in [("Why", "why"), ("Source", "source"), ("By", "by")]:
            expected = expected.replace(f'data-label="{english}"', f'data-label="{words.timeline_labels[label]}"')
        expected = expected.replace(">new:<", f">{words.new}<").replace(">(unchanged)<", f">{words.unchanged}<")
        assert html.timeline_rows(timeline) == expected
    assert html.change_badges(timeline[0], html.html_texts("en")).startswith('<span class="muted">new:</span>')


NEEDS = (
    "{% for need in needs %}"
    '<li><a href="{% url "state" need.state.iso3 %}">{{ need.state.name }}</a>: {{ need.get_kind_display }}\n'
    '  <span class="muted">({{ need.get_priority_display|lower }} priority, '
    "{{ need.get_status_display|lower }})</span>\n"
    "  <br>{{ need.description|truncatewords:24 }}"
    '{% with codes=need.measures.all %}{% if codes %} <span class="muted">Measures: '
    '{% for m in codes %}<span class="code">{{ m.code }}</span>{% if not forloop.last %}, {% endif %}{% endfor %}.'
    "</span>{% endif %}{% endwith %}</li>|{% endfor %}"
)


def need(name, description, codes):
    measures = [types.SimpleNamespace(code=code) for code in codes]
    return types.SimpleNamespace(
        state=types.SimpleNamespace(iso3="JAM", name=name),
        description=description,
        measures=types.SimpleNamespace(all=lambda: measures),
        get_kind_display=lambda: "Training & <equipment>",
        get_priority_display=lambda: "High",
        get_status_display=lambda: "Requested",
    )


def test_need_summaries_match_a_template_loop():
    long = " ".join(f"word{n}" for n in range(30))
    needs = [need(NASTY, "A <short> need", ["SALW-04", "A&B"]), need(ARABIC, long, []), need("Kenya", "", ["X"])]
    expected = render(NEEDS, needs=needs).split("|")[:-1]
    assert [item.summary_html for item in html.need_summaries(needs)] == expected


CELLS = '{% for row in rows %}<tr>{% for v in row %}<td>{{ v|default_if_none:"–" }}</td>{% endfor %}</tr>{% endfor %}'
VALUES = [
    [NASTY, None, 3, ARABIC],
    ["", 2.5, Decimal("1.50"), WHEN],
    [dt.date(2024, 2, 29), True, -1, "3"],
    [NASTY, None, 3, ARABIC],
]


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_table_rows_match_a_template_loop(language):
    with translation.override(language):
        expected = render(CELLS, rows=VALUES)
        assert html.table_rows(VALUES) == html.repetitive_table_rows(VALUES) == expected
        assert [html.cell_text(v) for v in VALUES[1]] == [
            render('{{ v|default_if_none:"–" }}', v=v) for v in VALUES[1]
        ]
