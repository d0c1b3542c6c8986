"""Jobs as their owner sees them: create (idempotently), get, list (filtered, sorted, by cursor), cancel, delete."""

import hashlib
import uuid
from typing import NamedTuple

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.spec import JobSpec
from store import states
from store.errors import IdempotencyConflict, JobNotFinished
from store.models import FINISHED, JOB_SORT_KEYS, Job, JobStatus, JobTag
from store.repositories.keyset import order_of, paginate, sorts
from store.repositories.metrics import MetricRepository

JOB_SORTS = sorts(*JOB_SORT_KEYS)
DEFAULT_JOB_SORT = "-created_at"


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
        if idempotency_key is None:  # nothing to collide with: no savepoint, two round trips fewer
            self._insert(job, spec)
            return job
        try:
            with self.session.begin_nested():  # a concurrent twin with the same key fails here, not the transaction
                self._insert(job, spec)
        except IntegrityError:
            first = self.replayed(owner, spec, idempotency_key, request_hash)
            if first is None:
                raise
            return first
        return job

    def _insert(self, job: Job, spec: JobSpec) -> None:
        """The job's row, then its tag rows (they reference it)."""
        self.session.add(job)
        self.session.flush()
        self.session.add_all(JobTag(job_id=job.id, tag=tag) for tag in dict.fromkeys(spec.tags))

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
        """Delete a finished job with its tags, metrics and checkpoints (the database cascades all but the metrics);
        False if not found."""
        job = self.get(owner, job_id)
        if job is None:
            return False
        if job.status not in FINISHED:
            raise JobNotFinished(job_id, job.status)
        MetricRepository(self.session).delete_of([job_id])
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
        sort: str = DEFAULT_JOB_SORT,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobListing:
        """The owner's jobs, filtered, in the order `sort` names (one of JOB_SORTS; newest first by default);
        pass `next_cursor` back, with the same sort, for the following page."""
        if sort not in JOB_SORTS:
            raise ValueError(f"sort must be one of {', '.join(JOB_SORTS)}, got {sort!r}")
        equal = _equal(status=status, norm=norm, arch=arch, dataset=dataset, study_id=study_id)
        query = select(Job).where(Job.owner == owner, *equal)
        if tag is not None:
            query = query.where(exists().where(JobTag.job_id == Job.id, JobTag.tag == tag))
        return JobListing(*paginate(self.session, query, order_of(Job, sort), limit, cursor))

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


def _equal(**filters: object) -> list[ColumnElement[bool]]:
    """`column = value` for each filter that was given (a None filter matches everything)."""
    return [getattr(Job, column) == value for column, value in filters.items() if value is not None]
