"""Jobs as their owner sees them: create (idempotently), get, list with filters and a cursor, cancel, delete."""

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.spec import JobSpec
from store import states
from store.errors import IdempotencyConflict, InvalidCursor, JobNotFinished
from store.models import FINISHED, Job, JobStatus, JobTag, Study


class JobListing(NamedTuple):
    """One page of a listing and the cursor of the next (None on the last page)."""

    jobs: list[Job]
    next_cursor: str | None


def spec_hash(spec: JobSpec) -> str:
    """The fingerprint an Idempotency-Key is bound to: equal specs, equal hashes (pydantic's JSON is canonical)."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()


class JobRepository:
    """Every query on jobs takes the owner, so another tenant's job is simply not found."""

    def __init__(self, session: Session):
        self.session = session

    def create(
        self,
        owner: str,
        spec: JobSpec,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        study_id: uuid.UUID | None = None,
        study_cell: int | None = None,
    ) -> Job:
        """A queued job; a repeated Idempotency-Key returns the first job, or raises if the request differs."""
        request_hash = request_hash or spec_hash(spec)
        job = _new_job(
            owner,
            spec,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            study_id=study_id,
            study_cell=study_cell,
        )
        try:
            with self.session.begin_nested():  # a concurrent twin with the same key fails here, not the transaction
                self.session.add(job)
                self.session.flush()
                self.session.add_all(JobTag(job_id=job.id, tag=tag) for tag in dict.fromkeys(spec.tags))
        except IntegrityError:
            first = self.replayed(owner, spec, idempotency_key, request_hash) if idempotency_key else None
            if first is None:
                raise
            return first
        return job

    def replayed(self, owner: str, spec: JobSpec, idempotency_key: str, request_hash: str | None = None) -> Job | None:
        """The job an earlier request with this Idempotency-Key created (None for a new key); IdempotencyConflict
        if that request differed. A replay is not a new submission, so callers check it before any quota."""
        job = self.session.scalar(select(Job).where(Job.owner == owner, Job.idempotency_key == idempotency_key))
        if job is not None and job.request_hash != (request_hash or spec_hash(spec)):
            raise IdempotencyConflict(idempotency_key)
        return job

    def get(self, owner: str, job_id: uuid.UUID) -> Job | None:
        """The owner's job, or None (also when it belongs to someone else)."""
        return self.session.scalar(select(Job).where(Job.id == job_id, Job.owner == owner))

    def request_cancel(self, owner: str, job_id: uuid.UUID) -> Job | None:
        """Cancel a queued job now or flag a running one (TransitionError if it has finished); None if not found."""
        if self.get(owner, job_id) is None:
            return None
        return states.request_cancel(self.session, job_id)

    def delete(self, owner: str, job_id: uuid.UUID) -> bool:
        """Delete a finished job with its tags, metrics and checkpoints (the database cascades); False if not found."""
        job = self.get(owner, job_id)
        if job is None:
            return False
        if job.status not in FINISHED:
            raise JobNotFinished(job_id, job.status)
        self.session.delete(job)
        self.session.flush()
        return True

    def list(
        self,
        owner: str,
        *,
        status: str | None = None,
        tag: str | None = None,
        norm: str | None = None,
        arch: str | None = None,
        dataset: str | None = None,
        study_id: uuid.UUID | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobListing:
        """The owner's jobs, newest first, filtered; pass `next_cursor` back for the following page."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        equal = _equal(status=status, norm=norm, arch=arch, dataset=dataset, study_id=study_id)
        query = select(Job).where(Job.owner == owner, *equal)
        if tag is not None:
            query = query.where(exists().where(JobTag.job_id == Job.id, JobTag.tag == tag))
        if cursor is not None:
            query = query.where(after(Job, *decode_cursor(cursor)))
        query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
        jobs = list(self.session.scalars(query))
        if len(jobs) <= limit:
            return JobListing(jobs, None)
        return JobListing(jobs[:limit], encode_cursor(jobs[limit - 1]))

    def count_by_status(self) -> dict[str, int]:
        """Jobs of every owner per status (0 for a status with none), for the operator's gauges."""
        counts = dict(self.session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        return {status.value: counts.get(status, 0) for status in JobStatus}


def _new_job(owner: str, spec: JobSpec, **columns: object) -> Job:
    """A queued job row, with the spec fields users filter on copied into columns of their own."""
    return Job(
        owner=owner,
        name=spec.name,
        spec=spec.model_dump(mode="json"),
        norm=spec.model.norm,
        arch=spec.model.arch,
        dataset=spec.dataset.name,
        lr=spec.optimizer.lr,
        batch_size=spec.training.batch_size,
        seed=spec.training.seed,
        **columns,
    )


def encode_cursor(row: Job | Study) -> str:
    """The position after `row` in (created_at, id) order; opaque so that clients cannot depend on its content."""
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor stands for, in UTC; InvalidCursor for anything this store did not hand out.

    A time that cannot be moved to UTC (year 1 at +05:00, or 9999-12-31T23:00-05:00) is no position either.
    """
    try:
        created_at, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment, position = datetime.fromisoformat(created_at), uuid.UUID(job_id)
        if moment.tzinfo is None:
            raise InvalidCursor(cursor)
        return moment.astimezone(UTC), position
    except (ValueError, OverflowError) as error:
        raise InvalidCursor(cursor) from error


def _equal(**filters: object) -> list[ColumnElement[bool]]:
    """`column = value` for each filter that was given (a None filter matches everything)."""
    return [getattr(Job, column) == value for column, value in filters.items() if value is not None]


def after(model: type[Job | Study], created_at: datetime, row_id: uuid.UUID) -> ColumnElement[bool]:
    """Rows that come after the position in (created_at desc, id desc) order: ties on created_at broken by id."""
    return or_(model.created_at < created_at, and_(model.created_at == created_at, model.id < row_id))
