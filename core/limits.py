"""
The length and content limits of every text and date the tracker takes in, whatever the path: the models'
validators, and through them the forms, the admin and the API; the spreadsheet rows check the same.
"""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Characters, per field. A rating's explanation is a few paragraphs; a justification a sentence or two.
EXPLANATION = 5_000
JUSTIFICATION = 2_000
SOURCE_TITLE = 500
SOURCE_REFERENCE = 100
URL = 500
# Review notes, assessment summaries, recommendations, needs and CTED-only notes.
NOTE = 5_000

# C0 and C1 control characters and DEL, except tab, line feed and carriage return (a textarea sends "\r\n").
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional embedding, override and isolate characters: they reorder what a reader sees (U+202E shows
# "exe.txt" as "txt.exe"). Refused rather than stripped, so that what is stored is what was typed.
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# What a spreadsheet shows in a cell whose formula failed: never a value someone meant to report.
ERROR_LITERALS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!"})

EARLIEST_DATE = dt.date(1900, 1, 1)
# Excel's day 60 is 29 February 1900, a day that never was (Lotus 1-2-3's leap-year mistake, kept by Excel).
EXCEL_LEAP_DAY = 60
EXCEL_EPOCH = dt.date(1899, 12, 30)


def without_controls(value):
    """``value`` without the characters ``validate_text`` refuses: for text stored before they were refused."""
    return BIDI.sub("", CONTROL.sub("", value))


def validate_text(value):
    """Refuse control characters (but tab and line breaks), bidirectional controls and spreadsheet error values."""
    if not isinstance(value, str):
        return
    if match := CONTROL.search(value):
        raise ValidationError(
            _("Contains a control character (U+%(code)s); remove it."),
            code="control_character",
            params={"code": f"{ord(match.group()):04X}"},
        )
    if match := BIDI.search(value):
        raise ValidationError(
            _("Contains a character that reverses the direction of the text (U+%(code)s); remove it."),
            code="bidi_character",
            params={"code": f"{ord(match.group()):04X}"},
        )
    if value.strip().upper() in ERROR_LITERALS:
        raise ValidationError(
            _("'%(value)s' is a spreadsheet's error value, not a value; type the value itself."),
            code="error_literal",
            params={"value": value.strip()},
        )


def text(limit):
    """The validators of a text of at most ``limit`` characters."""
    return [MaxLengthValidator(limit), validate_text]


def latest_date():
    """Today a year from now (1 March for 29 February): the latest date a source may have."""
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return dt.date(today.year + 1, 3, 1)


def validate_date(value):
    """Refuse a date before 1900 or more than a year ahead: a typing or conversion mistake, not a document's date."""
    if value is None:
        return
    if isinstance(value, dt.datetime):
        value = value.date()
    if not EARLIEST_DATE <= value <= latest_date():
        raise ValidationError(_DATE_OUT_OF_RANGE, code="date_out_of_range", params=_date_range(value.isoformat()))


_DATE_OUT_OF_RANGE = _("%(value)s is not a plausible date; give one between %(earliest)s and %(latest)s.")


def _date_range(value):
    return {"value": value, "earliest": EARLIEST_DATE.isoformat(), "latest": latest_date().isoformat()}


def date_from_serial(serial):
    """The date of an Excel day number (1 is 1900-01-01); refuses a negative number and Excel's 29 February 1900."""
    if serial < 1:
        raise ValidationError(
            _("%(value)s is not a date: spreadsheets count days from 1 (1 January 1900)."),
            code="invalid",
            params={"value": serial},
        )
    if int(serial) == EXCEL_LEAP_DAY:
        raise ValidationError(
            _("Day 60 is 29 February 1900, a day that never was; give the date as year-month-day."), code="invalid"
        )
    days = int(serial)
    try:
        # Excel counts the day that never was: from day 61 on, one day more than the calendar.
        if days > EXCEL_LEAP_DAY:
            return EXCEL_EPOCH + dt.timedelta(days=days)
        return dt.date(1899, 12, 31) + dt.timedelta(days=days)
    except OverflowError:
        raise ValidationError(_DATE_OUT_OF_RANGE, code="date_out_of_range", params=_date_range(serial)) from None
