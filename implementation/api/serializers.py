"""
What the API shows of each record, field by field. Related records are named by their
natural keys (a State by ISO3, a measure by code, a person by username), so that a CSV
of a page reads without looking anything up. Which rows are shown is not decided here
but in each model's ``visible_to``.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from measures.models import Edition, Measure
from states.models import MemberState, Region

from ..models import STALE_AFTER, Assessment, Rating, Recommendation, Submission


class StateSerializer(serializers.ModelSerializer):
    readable = serializers.BooleanField(
        read_only=True, help_text="Whether you may read this State's ratings and records."
    )

    class Meta:
        model = MemberState
        fields = ["iso3", "iso2", "m49", "name", "m49_region", "m49_subregion", "readable"]


class RegionSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField(help_text="ISO3 codes of the States that belong to it today.")

    class Meta:
        model = Region
        fields = ["slug", "name", "kind", "description", "members"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_members(self, region):
        # Prefetched by the view as ``current_memberships``, ordered by ISO3.
        return [membership.state.iso3 for membership in region.current_memberships]


class EditionSerializer(serializers.ModelSerializer):
    previous = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="The edition it revised."
    )

    class Meta:
        model = Edition
        fields = ["code", "title", "published_on", "is_current", "provenance", "previous"]


class MeasureSerializer(serializers.ModelSerializer):
    edition = serializers.SlugRelatedField(slug_field="code", read_only=True)
    section = serializers.SlugRelatedField(slug_field="code", read_only=True)
    section_title = serializers.CharField(source="section.title", read_only=True)
    instruments = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    predecessor = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="Its code in the previous edition, if it was there.",
    )

    class Meta:
        model = Measure
        fields = [
            "id", "code", "title", "description", "edition", "section", "section_title", "domain", "phase",
            "legislative", "strategic", "operational", "instruments", "basis", "position", "predecessor",
        ]  # fmt: skip


class RatingSerializer(serializers.ModelSerializer):
    """A current rating, or with ``as_of`` the history row that stood at the end of that day."""

    id = serializers.IntegerField(read_only=True, help_text="The rating's id (the same in its history).")
    state = serializers.SlugRelatedField(slug_field="iso3", read_only=True)
    measure = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assessment = serializers.IntegerField(
        source="shown_assessment",
        read_only=True,
        allow_null=True,
        help_text="The assessment that set it, when you may read that assessment.",
    )
    set_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who last set the status; empty for imports."
    )
    stale = serializers.SerializerMethodField(help_text="Unconfirmed for over a year (at the as-of date, if given).")

    class Meta:
        model = Rating
        fields = [
            "id", "state", "measure", "kind", "status", "explanation", "justification", "source_document",
            "source_reference", "source_url", "source_date", "assessment", "set_by", "set_at", "last_confirmed_at",
            "stale",
        ]  # fmt: skip

    def get_stale(self, rating) -> bool:
        at = self.context.get("at") or timezone.now()
        return rating.last_confirmed_at < at - STALE_AFTER


class RatingHistorySerializer(serializers.ModelSerializer):
    """One change of a rating: the rating as it stood after the change, and who made it and why."""

    CHANGES = {"+": "created", "~": "changed", "-": "deleted"}

    id = serializers.IntegerField(source="history_id", read_only=True, help_text="The change's id.")
    rating = serializers.IntegerField(source="id", read_only=True, help_text="The rating's id.")
    state = serializers.SlugRelatedField(slug_field="iso3", read_only=True)
    measure = serializers.SlugRelatedField(slug_field="code", read_only=True)
    change = serializers.SerializerMethodField()
    previous_status = serializers.ChoiceField(
        choices=Rating.Status.choices, read_only=True, allow_null=True, help_text="The status before this change."
    )
    at = serializers.DateTimeField(source="history_date", read_only=True)
    reason = serializers.CharField(
        source="shown_reason",
        read_only=True,
        allow_null=True,
        help_text="Why it changed; withheld when the change is linked to an assessment you may not read.",
    )
    by = serializers.SlugRelatedField(source="history_user", slug_field="username", read_only=True, allow_null=True)
    assessment = serializers.IntegerField(
        source="shown_assessment",
        read_only=True,
        allow_null=True,
        help_text="The assessment that set it, when you may read that assessment.",
    )

    class Meta:
        model = Rating.history.model
        fields = [
            "id", "rating", "state", "measure", "kind", "change", "previous_status", "status", "at", "reason", "by",
            "explanation", "justification", "source_document", "source_reference", "source_url", "source_date",
            "assessment",
        ]  # fmt: skip

    @extend_schema_field(serializers.ChoiceField(choices=["created", "changed", "deleted"]))
    def get_change(self, row):
        return self.CHANGES.get(row.history_type)

    def to_representation(self, row):
        data = super().to_representation(row)
        # History stores "no previous status" (a rating's first row) as an empty string.
        data["previous_status"] = data["previous_status"] or None
        return data


class AssessmentSerializer(serializers.ModelSerializer):
    state = serializers.SlugRelatedField(slug_field="iso3", read_only=True)

    class Meta:
        model = Assessment
        fields = ["id", "state", "kind", "conducted_on", "status", "confidentiality", "summary", "is_demo"]


class RecommendationSerializer(serializers.ModelSerializer):
    state = serializers.SlugRelatedField(slug_field="iso3", read_only=True)
    measures = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    assessment = serializers.IntegerField(
        source="shown_assessment",
        read_only=True,
        allow_null=True,
        help_text="The assessment it came from, when you may read that assessment.",
    )

    class Meta:
        model = Recommendation
        fields = ["id", "state", "measures", "assessment", "text", "priority", "status", "due_on", "is_demo"]


class SubmissionSerializer(serializers.ModelSerializer):
    """
    A focal point's proposed self-report. On POST it only parses: the State by ISO3, the
    measure by its code in the current catalogue, the rest as typed; ``workflow.submit``
    decides whether it may be made and whether the values hold.
    """

    state = serializers.SlugRelatedField(
        slug_field="iso3",
        queryset=MemberState.objects.all(),
        error_messages={"does_not_exist": _("No Member State has the ISO3 code {value}.")},
    )
    measure = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Measure.objects.current(),
        error_messages={"does_not_exist": _("The current catalogue has no measure {value}.")},
    )
    status = serializers.ChoiceField(choices=Rating.Status.choices)
    explanation = serializers.CharField(required=False, allow_blank=True)
    justification = serializers.CharField(
        required=False, allow_blank=True, help_text="Required for 'not_applicable': why the measure does not apply."
    )
    source_document = serializers.CharField(required=False, allow_blank=True)
    source_reference = serializers.CharField(required=False, allow_blank=True)
    source_url = serializers.CharField(required=False, allow_blank=True)
    source_date = serializers.DateField(required=False, allow_null=True)
    replaces = serializers.IntegerField(
        source="replaces_id",
        required=False,
        allow_null=True,
        help_text="The id of the pending submission for this measure that this one replaces, if there is one.",
    )
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Submission
        fields = [
            "id", "state", "measure", "status", "explanation", "justification", "source_document",
            "source_reference", "source_url", "source_date", "replaces", "review", "channel", "submitted_by",
            "submitted_at", "reviewed_by", "reviewed_at", "review_note", "assessed_updated",
        ]  # fmt: skip
        read_only_fields = ["review", "channel", "submitted_at", "reviewed_at", "review_note", "assessed_updated"]
        # DRF would check the model's "one pending submission per measure" here and answer 400;
        # workflow.submit checks it, answering a conflict (409) that says whose submission waits.
        validators = []
