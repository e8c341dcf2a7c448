"""
CSV for the API (``?format=csv`` or ``Accept: text/csv``): one row per result of the page, nested
objects as dotted columns, and every text cell escaped against formula injection, as the pages' are.
"""

import csv
import io

from rest_framework.renderers import BaseRenderer

from ..exports import escape_formula


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        rows = [flatten(row) for row in _rows(data)]
        headers = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([escape_formula(header) for header in headers])
        for row in rows:
            writer.writerow([_cell(row.get(header)) for header in headers])
        # The byte-order mark makes Excel read the file as UTF-8, as the pages' downloads do.
        return buffer.getvalue().encode("utf-8-sig")


def _rows(data):
    """The rows of a response: a page's results, a list, or a single object (a detail or an error)."""
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    if isinstance(data, list):
        return data
    return [data]


def flatten(value, prefix=""):
    """``value``, a serializer's output, as one flat dict: ``{"a": {"b": 1}}`` gives ``{"a.b": 1}``."""
    if not isinstance(value, dict):
        return {prefix or "value": value}
    flat = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict):
            flat.update(flatten(item, name))
        elif isinstance(item, list):
            flat[name] = "; ".join(_text(element) for element in item)
        else:
            flat[name] = item
    return flat


def _text(element):
    if isinstance(element, dict):
        return ", ".join(f"{key}={value}" for key, value in flatten(element).items())
    return "" if element is None else str(element)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return escape_formula(str(value))
