"""The FilterSets: the ratings' one (current and past rows alike), shared by the dashboards and the API."""

import datetime as dt
import functools

import django_filters
from django import forms
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from measures.models import Measure, Section
from states.models import MemberState, Region

from .models import Assessment, Rating, Recommendation, Submission

CAPACITIES = (
    ("legislative", gettext_lazy("Legislative")),
    ("strategic", gettext_lazy("Strategic")),
    ("operational", gettext_lazy("Operational")),
)


class RatingFilterForm(forms.Form):
    def clean_as_of(self):
        as_of = self.cleaned_data.get("as_of")
        if as_of and as_of > timezone.localdate():
            raise forms.ValidationError(gettext("Choose today or a past date: history does not know the future."))
        return as_of


class MomentField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date, or date and time, as the moment in UTC that the database compares."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            # In UTC: PostgreSQL refuses offsets ISO 8601 allows, such as -17:15.
            return moment.astimezone(dt.UTC)
        except OverflowError:
            # 0001-01-01T00:00+02:00 parses, but is before the first moment UTC can express.
            raise forms.ValidationError(
                gettext("Enter a date and time between the years 1 and 9999 in UTC.")
            ) from None


class MomentFilter(django_filters.IsoDateTimeFilter):
    field_class = MomentField


class StateField(forms.ModelChoiceField):
    """A Member State by its ISO3 code, in any case, among the States the reader may read."""

    widget = forms.TextInput
    default_error_messages = {
        "invalid_choice": gettext_lazy("Enter the ISO3 code of a Member State whose records you may read, e.g. JAM."),
    }

    def to_python(self, value):
        return super().to_python(value.strip().upper() if isinstance(value, str) else value)

    def prepare_value(self, value):
        return value.iso3 if isinstance(value, MemberState) else value


def readable_states(request):
    """
    The States a filter may name: a hidden one is refused like a code that names none, so that no
    filter narrows a figure to it. Without a request (commands, benchmarks), every State.
    """
    if request is None:
        return MemberState.objects.all()
    return MemberState.objects.visible_to(request.user)


class StateFilter(django_filters.ModelChoiceFilter):
    field_class = StateField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "state")
        kwargs.setdefault("to_field_name", "iso3")
        kwargs.setdefault("queryset", readable_states)
        kwargs.setdefault("label", gettext_lazy("State (ISO3)"))
        super().__init__(*args, **kwargs)


class RatingFilterSet(django_filters.FilterSet):
    region = django_filters.CharFilter(method="filter_region", label=gettext_lazy("Region (slug)"))
    state = StateFilter()
    measure = django_filters.CharFilter(
        field_name="measure__code", lookup_expr="iexact", label=gettext_lazy("Measure (code)")
    )
    section = django_filters.CharFilter(
        field_name="measure__section__code", lookup_expr="iexact", label=gettext_lazy("Section")
    )
    domain = django_filters.ChoiceFilter(
        field_name="measure__domain", choices=Measure.Domain.choices, label=gettext_lazy("Weapon domain")
    )
    phase = django_filters.ChoiceFilter(
        field_name="measure__phase", choices=Measure.Phase.choices, label=gettext_lazy("Phase")
    )
    # A method filter has no model field to take its label from: without one it reads "[invalid name]".
    capacity = django_filters.ChoiceFilter(
        choices=CAPACITIES, method="filter_capacity", label=gettext_lazy("Capacity")
    )
    # Labelled like the others rather than from the model fields, so that a filter reads the same everywhere.
    status = django_filters.ChoiceFilter(choices=Rating.Status.choices, label=pgettext_lazy("of a rating", "Status"))
    kind = django_filters.ChoiceFilter(choices=Rating.Kind.choices, label=pgettext_lazy("of a rating", "Kind"))
    as_of = django_filters.DateFilter(
        method="filter_as_of",
        label=gettext_lazy("As of"),
        help_text=gettext_lazy("Show the ratings as they stood at the end of this day."),
        # The browser's own date picker; it sends the ISO date the filter reads.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    # For a client that keeps a copy: every save stamps last_confirmed_at, a mere confirmation included.
    updated_since = MomentFilter(
        field_name="last_confirmed_at",
        lookup_expr="gte",
        label=gettext_lazy("Updated since"),
        help_text=gettext_lazy("Only ratings saved or confirmed at or after this date or date and time (ISO 8601)."),
    )

    class Meta:
        model = Rating
        fields = [
            "region", "state", "measure", "section", "domain", "phase", "capacity", "status", "kind", "as_of",
            "updated_since",
        ]  # fmt: skip
        form = RatingFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The current edition's sections, read only when the form is drawn (docs/performance.md,
        # "The filters"); any code is still accepted, as the API's callers may send one.
        sections = functools.cache(
            lambda: [
                ("", gettext("All sections")),
                *((s.code, str(s)) for s in Section.objects.filter(edition__is_current=True)),
            ]
        )
        self.filters["section"].extra["widget"] = forms.Select(choices=sections)

    def filter_queryset(self, queryset):
        return self.apply(queryset)

    def apply(self, queryset, *, ignore=()):
        """``queryset`` through the validated filters, less those named in ``ignore``."""
        # "As of" first: it swaps the ratings for their rows of that day, which the other
        # filters then read (a past status, not today's).
        as_of = self.form.cleaned_data.get("as_of")
        if as_of is not None and queryset.model is Rating and "as_of" not in ignore:
            queryset = rows_as_of(queryset, as_of)
        for name, value in self.form.cleaned_data.items():
            if name not in ignore:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_as_of(self, queryset, name, value):
        return queryset  # applied in filter_queryset, before the others

    def filter_region(self, queryset, name, value):
        region = Region.objects.filter(slug=value).first()
        if region is None:
            return queryset.none()
        return queryset.filter(state__in=MemberState.objects.in_region(region))

    def filter_capacity(self, queryset, name, value):
        # Each capacity is a flag on the measure; a measure may call for several.
        return queryset.filter(Q(**{f"measure__{value}": True}))


class MeasureScopeFilterSet(django_filters.FilterSet):
    """``RatingFilterSet``'s measure filters (domain, phase, section, capacity, code) on the measures themselves."""

    measure = django_filters.CharFilter(field_name="code", lookup_expr="iexact")
    section = django_filters.CharFilter(field_name="section__code", lookup_expr="iexact")
    domain = django_filters.ChoiceFilter(choices=Measure.Domain.choices)
    phase = django_filters.ChoiceFilter(choices=Measure.Phase.choices)
    capacity = django_filters.ChoiceFilter(choices=CAPACITIES, method="filter_capacity")

    class Meta:
        model = Measure
        fields = ["measure", "section", "domain", "phase", "capacity"]

    @classmethod
    def like(cls, rating_filters, queryset):
        """This FilterSet over ``queryset``, with the values of a validated ``RatingFilterSet``."""
        cleaned = rating_filters.form.cleaned_data
        return cls({name: cleaned.get(name) for name in cls.base_filters}, queryset=queryset)

    def filter_capacity(self, queryset, name, value):
        return queryset.filter(**{value: True})


def rows_as_of(ratings, day):
    """
    The history row in force at the end of ``day`` for each rating of ``ratings``: one step back
    along the (id, history_date) index each, rather than simple-history's ``as_of`` (docs/performance.md).
    """
    latest = (
        Rating.history.filter(id=OuterRef("pk"), history_date__lte=end_of_day(day))
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return Rating.history.filter(history_id__in=ratings.annotate(latest=Subquery(latest)).values("latest"))


def end_of_day(day):
    """The last moment of ``day`` in the site's time zone: "as of" a date includes that day."""
    start = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone())
    return start - dt.timedelta(microseconds=1)


# The API's FilterSets, one per model it lists; the ratings' is RatingFilterSet above.


class StateFilterSet(django_filters.FilterSet):
    region = django_filters.CharFilter(method="filter_region", label="Region (slug)")
    readable = django_filters.BooleanFilter(label="Only the States whose records you may read (or only the others)")

    class Meta:
        model = MemberState
        fields = ["region", "readable"]

    def filter_region(self, queryset, name, value):
        region = Region.objects.filter(slug=value).first()
        if region is None:
            return queryset.none()
        return queryset.in_region(region)


class MeasureFilterSet(django_filters.FilterSet):
    edition = django_filters.CharFilter(
        field_name="edition__code", label="Edition (code)", help_text="The current edition when left out."
    )
    section = django_filters.CharFilter(field_name="section__code", lookup_expr="iexact", label="Section (code)")
    domain = django_filters.ChoiceFilter(choices=Measure.Domain.choices)
    phase = django_filters.ChoiceFilter(choices=Measure.Phase.choices)

    class Meta:
        model = Measure
        fields = ["edition", "section", "domain", "phase"]

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("edition"):
            queryset = queryset.current()
        return super().filter_queryset(queryset)


class RatingHistoryFilterSet(RatingFilterSet):
    """The ratings' filters, for changes: a change is already "as of" its own date, which since/until select."""

    as_of = None
    updated_since = None
    since = MomentFilter(field_name="history_date", lookup_expr="gte", label="Changed since")
    until = MomentFilter(field_name="history_date", lookup_expr="lte", label="Changed until")

    class Meta(RatingFilterSet.Meta):
        model = Rating.history.model
        fields = [
            "region", "state", "measure", "section", "domain", "phase", "capacity", "status", "kind", "since", "until",
        ]  # fmt: skip


class AssessmentFilterSet(django_filters.FilterSet):
    state = StateFilter()

    class Meta:
        model = Assessment
        fields = ["state", "kind", "status", "confidentiality"]


class RecommendationFilterSet(django_filters.FilterSet):
    state = StateFilter()
    measure = django_filters.CharFilter(method="filter_measure", label="Measure (code)")

    class Meta:
        model = Recommendation
        fields = ["state", "measure", "status", "priority"]

    def filter_measure(self, queryset, name, value):
        # A filter on the many-to-many would repeat a recommendation once per matching measure.
        return queryset.filter(pk__in=Recommendation.objects.filter(measures__code__iexact=value).values("pk"))


class SubmissionFilterSet(django_filters.FilterSet):
    state = StateFilter()
    measure = django_filters.CharFilter(field_name="measure__code", lookup_expr="iexact", label="Measure (code)")

    class Meta:
        model = Submission
        fields = ["state", "measure", "status", "review"]


# The columns of a region's data table (``tables.region_tables``, "heatmap"), by the name ``?sort=`` gives them.
HEATMAP_COLUMNS = {
    "state": gettext_lazy("Member State"),
    # Translators: the column of each State's three-letter ISO code.
    "iso3": gettext_lazy("ISO3"),
    "section": gettext_lazy("Section"),
    "measure": gettext_lazy("Measure"),
    "title": gettext_lazy("Title"),
    "assessed": gettext_lazy("CTED assessment"),
    "reported": gettext_lazy("Self-report"),
    "differs": gettext_lazy("Self-report differs"),
}
DEFAULT_SORT = "state"


def heatmap_sorts():
    """``?sort=`` values of a region's data table: each column up (its name) and down (its name after "-")."""
    choices = []
    for name, header in HEATMAP_COLUMNS.items():
        # Translators: an order of a table's rows, e.g. "Member State, ascending" (A to Z; statuses in the
        # order the key lists them).
        choices.append((name, gettext("%(column)s, ascending") % {"column": header}))
        # Translators: an order of a table's rows, e.g. "Member State, descending" (Z to A).
        choices.append((f"-{name}", gettext("%(column)s, descending") % {"column": header}))
    return choices


class RegionTableFilterSet(RatingFilterSet):
    """The region page's filters, and the order of its data table's rows; an unknown order is refused."""

    sort = django_filters.ChoiceFilter(
        choices=heatmap_sorts,
        method="keep_order",
        label=gettext_lazy("Sort by"),
        empty_label=gettext_lazy("Member State, then measure"),
    )

    class Meta(RatingFilterSet.Meta):
        fields = [*RatingFilterSet.Meta.fields, "sort"]

    def keep_order(self, queryset, name, value):
        return queryset  # the rows are put in order by the table (tables.sort_heatmap_rows), not by the database
