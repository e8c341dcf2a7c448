"""
The floors of the dashboard benchmark (``make bench BENCH_ARGS=--floors``), for information: the cells each page
shows, fetched in one raw query each. "As of" rebuilds them from the history: the latest row of each rating at or
before the moment.
"""

from implementation import dashboards

CURRENT_MEASURES = (
    "SELECT m.id FROM measures_measure m JOIN measures_edition e ON e.id = m.edition_id WHERE e.is_current"
)
MEMBERS = """
    SELECT ms.state_id FROM states_regionmembership ms JOIN states_region g ON g.id = ms.region_id
    WHERE g.slug = %(slug)s AND (ms.joined_on IS NULL OR ms.joined_on <= %(on)s)
      AND (ms.left_on IS NULL OR ms.left_on > %(on)s)
"""
LATEST = "DISTINCT ON (h.id)"
LATEST_ORDER = "ORDER BY h.id, h.history_date DESC, h.history_id DESC"
OVERVIEW = {
    False: f"""SELECT r.state_id, r.status FROM implementation_rating r
        WHERE r.kind = 'assessed' AND r.measure_id IN ({CURRENT_MEASURES})""",
    True: f"""SELECT {LATEST} h.state_id, h.status FROM implementation_historicalrating h
        WHERE h.kind = 'assessed' AND h.measure_id IN ({CURRENT_MEASURES}) AND h.history_date <= %(moment)s
        {LATEST_ORDER}""",
}
REGION = {
    False: f"""SELECT r.state_id, r.measure_id, r.kind, r.status FROM implementation_rating r
        WHERE r.state_id IN ({MEMBERS}) AND r.measure_id IN ({CURRENT_MEASURES})""",
    True: f"""SELECT {LATEST} h.state_id, h.measure_id, h.kind, h.status FROM implementation_historicalrating h
        WHERE h.state_id IN ({MEMBERS}) AND h.measure_id IN ({CURRENT_MEASURES}) AND h.history_date <= %(moment)s
        {LATEST_ORDER}""",
}
JAMAICA = "(SELECT id FROM states_memberstate WHERE iso3 = 'JAM')"
STATE = {
    False: f"""SELECT r.measure_id, r.kind, r.status, r.explanation, r.justification, r.source_document,
            r.source_reference, r.set_at, r.last_confirmed_at
        FROM implementation_rating r
        WHERE r.state_id = {JAMAICA} AND r.measure_id IN ({CURRENT_MEASURES})""",
    True: f"""SELECT {LATEST} h.measure_id, h.kind, h.status, h.explanation, h.justification, h.source_document,
            h.source_reference, h.set_at, h.last_confirmed_at
        FROM implementation_historicalrating h
        WHERE h.state_id = {JAMAICA} AND h.measure_id IN ({CURRENT_MEASURES}) AND h.history_date <= %(moment)s
        {LATEST_ORDER}""",
}
TIMELINE_COLUMNS = (
    "h.history_date, h.measure_id, h.kind, h.previous_status, h.status, h.history_change_reason, h.history_user_id"
)
TIMELINE = {
    False: f"""SELECT {TIMELINE_COLUMNS} FROM implementation_historicalrating h
        WHERE h.state_id = {JAMAICA}
        ORDER BY h.history_date DESC, h.history_id DESC LIMIT {dashboards.TIMELINE_LENGTH}""",
    True: f"""SELECT {TIMELINE_COLUMNS} FROM implementation_historicalrating h
        WHERE h.state_id = {JAMAICA} AND h.history_date <= %(moment)s
        ORDER BY h.history_date DESC, h.history_id DESC LIMIT {dashboards.TIMELINE_LENGTH}""",
}


def statement(statements, dated, when, slug=None):
    return statements[dated], {"on": when["on"], "moment": when["moment"], "slug": slug}
