"""
The tracker's records, one module per concern; every model is importable from here
(``from implementation.models import Rating``).
"""

from .assessments import Assessment
from .base import Confidentiality, ScopedQuerySet, SharedHistoryQuerySet, SharedScopedQuerySet
from .ratings import (
    STALE_AFTER,
    RatedValues,
    Rating,
    RatingHistoryBase,
    RatingHistoryQuerySet,
    RatingQuerySet,
    RatingRows,
)
from .records import (
    AssistanceNeed,
    ConfidentialNote,
    ConfidentialNoteQuerySet,
    FollowUp,
    Priority,
    Recommendation,
)
from .workflow import (
    Snapshot,
    SnapshotEntry,
    StagedUpload,
    StagedUploadQuerySet,
    Submission,
    SubmissionQuerySet,
)

__all__ = [
    "STALE_AFTER",
    "Assessment",
    "AssistanceNeed",
    "ConfidentialNote",
    "ConfidentialNoteQuerySet",
    "Confidentiality",
    "FollowUp",
    "Priority",
    "RatedValues",
    "Rating",
    "RatingHistoryBase",
    "RatingHistoryQuerySet",
    "RatingQuerySet",
    "RatingRows",
    "Recommendation",
    "ScopedQuerySet",
    "SharedHistoryQuerySet",
    "SharedScopedQuerySet",
    "Snapshot",
    "SnapshotEntry",
    "StagedUpload",
    "StagedUploadQuerySet",
    "Submission",
    "SubmissionQuerySet",
]
