"""
Helpers for tests that read whole answers: what changes between two requests of the same page by design, and
the cells of a region's heat map.
"""

import re

# Django masks the CSRF token differently in every response.
_CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+(")')


def comparable(response):
    """``response``'s status, content type and body, less what differs between any two requests."""
    return response.status_code, response.get("Content-Type"), _CSRF.sub(rb"\1\2", response.content)


def heat_map(html):
    """
    The heat map's cells by (ISO3 of their column, code of their row's measure), each its ``<td>`` whole, which
    must hold text alone; empty when the page has no heat map.
    """
    table = re.search(r'<table class="heatmap".*?</table>', html, re.S)
    if table is None:
        return {}
    columns = re.findall(r'<th scope="col"[^>]*><a href="/states/([A-Z]{3})/"', table.group(0))
    rows = re.findall(
        r'<tr>\s*<th scope="row"><span class="hm-code"[^>]*>([^<]*)</span>.*?</th>\s*(.*?)\s*</tr>',
        table.group(0),
        re.S,
    )
    return {
        (iso3, code): td
        for code, tds in rows
        for iso3, td in zip(columns, re.findall(r"<td[^>]*>[^<]*</td>", tds), strict=True)
    }
