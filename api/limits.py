"""What a submission must fit besides the spec itself: the workers' threads and the owner's limits (429)."""

from math import ceil

from sqlalchemy.orm import Session

from api.errors import invalid_fields, too_many_requests
from api.schemas import ErrorDetail
from contracts.settings import Settings
from contracts.spec import JobSpec
from store import Job, JobRepository, QuotaRepository
from store.timestamps import utcnow

WINDOW_S = 60  # max_submissions_per_minute counts the submissions of the last minute
ACTIVE_RETRY_AFTER_S = 30  # a slot frees when a job ends, which nobody can predict: a short, fixed wait


def check_threads(spec: JobSpec, settings: Settings) -> None:
    """The spec allows 64 threads in each of 16 processes; this deployment's workers may have fewer cores (422 naming
    the setting)."""
    allowed, training = settings.max_job_threads, spec.training
    if training.processes == 1 and training.threads > allowed:
        message = f"training.threads may be at most {allowed} here (BNLAB_MAX_JOB_THREADS)"
        raise invalid_fields([ErrorDetail(field="body.training.threads", message=message)])
    if training.processes * training.threads > allowed:
        message = (
            f"training.processes x training.threads ({training.processes} x {training.threads}) may be at most "
            f"{allowed} here (BNLAB_MAX_JOB_THREADS, the cores a job may use): lower either"
        )
        raise invalid_fields([ErrorDetail(field="body.training.processes", message=message)])


def submitted(session: Session, owner: str, spec: JobSpec, idempotency_key: str | None, settings: Settings) -> Job:
    """The job a replayed request created, or a new one if the owner is within their limits."""
    jobs = JobRepository(session)
    replay = jobs.replayed(owner, spec, idempotency_key) if idempotency_key else None
    if replay is not None:
        return replay
    admit(QuotaRepository(session), owner, settings)
    return jobs.create(owner, spec, idempotency_key=idempotency_key)


def admit(quotas: QuotaRepository, owner: str, settings: Settings, count: int = 1) -> None:
    """429 when `count` more jobs would take the owner past the jobs allowed queued or running, or this minute."""
    active, free_at = quotas.usage(owner, settings.max_submissions_per_minute - count + 1, WINDOW_S)
    room = settings.max_active_jobs - count
    if active > room:
        message = (
            f"you have {active} jobs queued or running and ask for {count} more; at most {settings.max_active_jobs} "
            "are allowed (BNLAB_MAX_ACTIVE_JOBS): wait for some to finish, or cancel some"
        )
        raise too_many_requests("too_many_active_jobs", message, ACTIVE_RETRY_AFTER_S)
    if free_at is not None:
        wait = ceil((free_at - utcnow()).total_seconds())
        message = (
            f"{count} more job(s) would make more than {settings.max_submissions_per_minute} submitted in the last "
            f"{WINDOW_S} s, the most allowed (BNLAB_MAX_SUBMISSIONS_PER_MINUTE): retry in {max(1, wait)} s"
        )
        raise too_many_requests("rate_limited", message, wait)


def check_study_size(jobs: int, settings: Settings) -> None:
    """A study larger than an owner's limits could never be admitted: a 422 that says which setting, not a 429."""
    limits = {
        "MAX_ACTIVE_JOBS": settings.max_active_jobs,
        "MAX_SUBMISSIONS_PER_MINUTE": settings.max_submissions_per_minute,
    }
    for name, limit in limits.items():
        if jobs > limit:
            message = (
                f"the study has {jobs} jobs, more than BNLAB_{name}={limit} allows at once: shrink the grid or seeds"
            )
            raise invalid_fields([ErrorDetail(field="body.grid", message=message)], code="study_too_large")
