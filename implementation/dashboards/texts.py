"""The words and figures the dashboards write over and over, translated or formatted once."""

import functools
import math
import types
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.formats import get_format
from django.utils.translation import gettext, pgettext

from states.models import MIN_HIDDEN_STATES_IN_TOTAL

from ..models import Rating

Status = Rating.Status


@functools.lru_cache(maxsize=8)
def texts(language):
    """
    The pages' recurring words in ``language``, as plain text (``html.html_texts`` escapes them);
    the callers fill in the patterns. Cached per language: see docs/performance.md.
    """
    with translation.override(language):
        rtl = translation.get_language_bidi()
        return types.SimpleNamespace(
            rtl=rtl,
            # From one status to the next, in the direction the line reads: arrows are not mirrored.
            arrow="←" if rtl else "→",
            labels={status: str(status.label) for status in Status},
            abbreviations={status: str(status.abbreviation) for status in Status},
            kinds={kind: str(kind.label) for kind in Rating.Kind},
            # Translators: joins the items of a list, e.g. "Implemented 3, Partially implemented 1".
            list_separator=pgettext("list separator", ", "),
            # Translators: a status and how many ratings have it, as a stacked bar's parts are listed.
            status_count=gettext("%(status)s %(count)s"),
            # Translators: a chart's or map's item and its figures, e.g. "Jamaica: Implemented 3".
            named=gettext("%(name)s: %(summary)s"),
            # Translators: a part of a stacked bar: status, number of ratings, share; e.g. "Implemented: 3 (60%)".
            segment_title=gettext("%(status)s: %(count)s (%(share)s)"),
            # Translators: a share in per cent, e.g. "12%" (French writes "12 %", Arabic "12٪").
            percent=gettext("%(share)s%%"),
            no_ratings=gettext("No ratings"),
            no_ratings_yet=gettext("no ratings yet"),
            # Translators: a mean score on the scale from 0 to 3, e.g. "2.1 / 3".
            out_of_3=gettext("%(score)s / 3"),
            # Translators: the share of ratings implemented or largely implemented, e.g. "40% implemented".
            share_implemented=gettext("%(share)s implemented"),
            not_scored=gettext("not scored"),
            # Translators: in place of a total's figures, e.g. "Withheld: it counts fewer than 3 States not
            # shared with you" (the reader could otherwise work out those States' ratings).
            withheld=gettext("Withheld: it counts fewer than %(minimum)s States not shared with you")
            % {"minimum": MIN_HIDDEN_STATES_IN_TOTAL},
            # Translators: beside a total that leaves out measures whose figures are withheld from the reader.
            partial=gettext("withheld measures left out"),
            # Translators: a quarter of a year, e.g. "Q3 2025".
            quarter=gettext("Q%(quarter)s %(year)s"),
            # Translators: a label of the trend chart's score axis: a score and the status it stands for,
            # e.g. "3 Implemented".
            score_label=gettext("%(score)s %(status)s"),
            not_rated=gettext("Not rated yet."),
            # Translators: in place of the missing reason why a measure does not apply.
            not_given=gettext("not given"),
            why_not_applicable=gettext("Why not applicable:"),
            # Translators: the label before a rating's cited source.
            source=gettext("Source:"),
            no_source=gettext("No source cited."),
            # Translators: the assessment that set a rating, e.g. "From the country visit of 14 Mar 2024".
            from_assessment=gettext("From the %(kind)s of %(date)s"),
            last_confirmed=gettext("Last confirmed %(date)s"),
            over_12_months=gettext("over 12 months ago"),
            timeline_labels={
                "when": gettext("When"),
                "measure": gettext("Measure"),
                "rating": gettext("Rating"),
                "change": pgettext("column header", "Change"),
                "why": gettext("Why"),
                "source": gettext("Source"),
                # Translators: the column of who made a change.
                "by": pgettext("column header", "By"),
            },
            rating_removed=gettext("Rating removed"),
            # Translators: before the status of a rating that was just created, e.g. "new: Implemented".
            new=gettext("new:"),
            # Translators: after a status that a change left as it was.
            unchanged=gettext("(unchanged)"),
            # Translators: the arrow between a rating's old and new status, as a screen reader reads it.
            to=pgettext("from one status to another", "to"),
        )


def format_decimal(value, places):
    """``value`` as ``{{ value|floatformat:places }}`` writes it (a faster path for floats: docs/performance.md)."""
    if value.__class__ is not float or not math.isfinite(value) or places < 0 or settings.USE_THOUSAND_SEPARATOR:
        return floatformat(value, places)
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if not rounded:
        rounded = abs(rounded)  # the filter writes no "-0.0"
    return f"{rounded:f}".replace(".", get_format("DECIMAL_SEPARATOR"))
