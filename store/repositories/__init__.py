"""Every query of the store, one repository per aggregate; they flush, the caller commits (rule 3)."""

from store.repositories.api_keys import ApiKeyRepository
from store.repositories.checkpoints import CheckpointRepository
from store.repositories.jobs import DEFAULT_JOB_SORT, JOB_SORTS, JobListing, JobRepository
from store.repositories.keyset import MAX_CURSOR_LENGTH
from store.repositories.metrics import MetricRepository, Series
from store.repositories.quotas import QuotaRepository
from store.repositories.studies import StudyListing, StudyRepository, study_status

__all__ = [
    "DEFAULT_JOB_SORT",
    "JOB_SORTS",
    "MAX_CURSOR_LENGTH",
    "ApiKeyRepository",
    "CheckpointRepository",
    "JobListing",
    "JobRepository",
    "MetricRepository",
    "QuotaRepository",
    "Series",
    "StudyListing",
    "StudyRepository",
    "study_status",
]
