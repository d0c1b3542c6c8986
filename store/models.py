"""The tables: API keys, studies, jobs and their tags, metric points, checkpoints; constraint names by convention."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.timestamps import UTCDateTime, utcnow

# Rule 9: deterministic names, so a migration can drop or alter a constraint on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class JobStatus(StrEnum):
    """A job's lifecycle (docs/architecture.md, the job lifecycle); only store.states moves a job between them."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
# The columns a job list can be sorted by, each with an index (owner, column, id): a page is a range of it.
JOB_SORT_KEYS = ("created_at", "name", "status", "lr", "batch_size", "seed", "progress")


class Base(DeclarativeBase):
    """Shared metadata (with the naming convention) and the column types every table uses."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        float: Double(),
        uuid.UUID: Uuid(),
    }


class ApiKey(Base):
    """A key of a tenant: only its hash is kept, the plaintext is shown once at creation."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Job(Base):
    """A training job: its spec, the spec fields users filter on, and its state (owned by store.states)."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{status}'" for status in JobStatus) + ")", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        UniqueConstraint("owner", "idempotency_key"),
        *(Index(None, "owner", column, "id") for column in JOB_SORT_KEYS),
        Index(None, "status", "lease_expires_at"),
        Index(None, "status", "dispatched_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    spec: Mapped[dict[str, Any]]
    norm: Mapped[str] = mapped_column(String(32), index=True)
    arch: Mapped[str] = mapped_column(String(32), index=True)
    dataset: Mapped[str] = mapped_column(String(32), index=True)
    lr: Mapped[float]
    batch_size: Mapped[int]
    seed: Mapped[int]
    progress: Mapped[float] = mapped_column(default=0.0)
    summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    lease_expires_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    dispatched_at: Mapped[datetime | None]  # when "run job <id>" was last sent (the outbox, rule 12)
    study_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("studies.id"), index=True)
    study_cell: Mapped[int | None]  # the index of the job's cell in its study's `cells`
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Study(Base):
    """A grid of jobs (cells x seeds) and what it was made from; its status is derived from its jobs' (rule 1)."""

    __tablename__ = "studies"
    __table_args__ = (Index(None, "owner", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    preset: Mapped[str | None] = mapped_column(String(32))
    scale: Mapped[float | None]
    request: Mapped[dict[str, Any]]  # the body as sent: a grid study or a preset with its scale
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{name, base, grid, baseline}]: what was expanded
    seeds: Mapped[list[int]] = mapped_column(JSON)
    cells: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{section, values}], jobs.study_cell indexes it
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobTag(Base):
    """One tag of a job, as rows so that filtering by tag is an index lookup on SQLite and PostgreSQL alike."""

    __tablename__ = "job_tags"
    __table_args__ = (Index(None, "tag", "job_id"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class MetricRow(Base):
    """One value of one series at one step; the key (job, name, step) makes a resumed run replace (rule 5).

    No foreign key to jobs: its check, one lookup per point, was about 45% of an insert on PostgreSQL, and it
    guarded nothing the lease does not. Points are written only under the job's lease, whose hold locks the job's
    row in the same transaction, and deleting jobs deletes their points (MetricRepository.delete_of).
    """

    __tablename__ = "metric_points"

    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    step: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[float]


class Checkpoint(Base):
    """A job's resumable state at one step, in the database so that every worker of a deployment can resume it."""

    __tablename__ = "checkpoints"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # torch.save of the engine's state, loaded weights_only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
