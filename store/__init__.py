"""The store: SQLAlchemy models, sessions, repositories, the job state machine and the outbox's queries.

Imports sqlalchemy and the contracts only; never api, worker or torch (docs/architecture.md). Migrations live
in migrations/ and run through store.migrate (kept out of this import so that alembic loads only when used).
"""

from store.db import (
    SessionFactory,
    get_engine,
    make_engine,
    make_session_factory,
    read_scope,
    session_scope,
    sessions_for,
)
from store.errors import (
    IdempotencyConflict,
    InvalidCursor,
    JobNotFinished,
    StoreError,
    StudyNotFinished,
    TransitionError,
)
from store.lease import JobLease
from store.models import FINISHED, ApiKey, Checkpoint, Job, JobStatus, JobTag, MetricRow, Study
from store.repositories import (
    DEFAULT_JOB_SORT,
    JOB_SORTS,
    MAX_CURSOR_LENGTH,
    ApiKeyRepository,
    CheckpointRepository,
    JobListing,
    JobRepository,
    MetricRepository,
    QuotaRepository,
    Series,
    StudyListing,
    StudyRepository,
    study_status,
)

__all__ = [
    "DEFAULT_JOB_SORT",
    "FINISHED",
    "JOB_SORTS",
    "MAX_CURSOR_LENGTH",
    "ApiKey",
    "ApiKeyRepository",
    "Checkpoint",
    "CheckpointRepository",
    "IdempotencyConflict",
    "InvalidCursor",
    "Job",
    "JobLease",
    "JobNotFinished",
    "JobListing",
    "JobRepository",
    "JobStatus",
    "JobTag",
    "MetricRow",
    "MetricRepository",
    "QuotaRepository",
    "Series",
    "SessionFactory",
    "StoreError",
    "Study",
    "StudyListing",
    "StudyNotFinished",
    "StudyRepository",
    "TransitionError",
    "get_engine",
    "make_engine",
    "make_session_factory",
    "read_scope",
    "session_scope",
    "sessions_for",
    "study_status",
]
