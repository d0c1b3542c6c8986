"""One job from claim to finish: the store's transitions around the engine (rule 4), in the process that trains."""

import logging
from collections.abc import Callable
from functools import partial
from uuid import UUID

import torch
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from contracts.settings import Settings
from contracts.spec import JobSpec
from store import (
    Checkpoint,
    CheckpointRepository,
    Job,
    SessionFactory,
    TransitionError,
    session_scope,
    sessions_for,
    states,
)
from worker.engine import train
from worker.reporter import DatabaseReporter

log = logging.getLogger(__name__)

Finish = Callable[[Session, UUID], Job]


def run_job(job_id: UUID, worker: str, settings: Settings) -> None:
    """Claim, train, record the outcome; a job that is not, or no longer, ours (TransitionError) is left alone."""
    factory = sessions_for(settings.resolved_database_url)
    try:
        with session_scope(factory) as session:
            job = states.claim(session, job_id, worker, settings.lease_s)
            checkpoint = CheckpointRepository(session).latest(job_id)
        finish = partial(_train(job, checkpoint, factory, settings), worker=worker)
        with session_scope(factory) as session:
            job = finish(session, job_id)
        log.info("job %s %s%s", job_id, job.status, f": {job.error}" if job.error else "")
    except TransitionError as error:  # cancelled, run elsewhere, or re-queued after our lease ran out
        log.info("job %s left alone: %s", job_id, error)


def _train(job: Job, checkpoint: Checkpoint | None, factory: SessionFactory, settings: Settings) -> Finish:
    """Run the engine; return the job's end: succeed or cancel with the summary (divergence is a success), or fail."""
    try:
        spec = JobSpec.model_validate(job.spec)
        resume = _resume_state(job.id, checkpoint, settings)
        summary = train(spec, DatabaseReporter(factory, job.id, job.worker, settings), settings.data_dir, resume=resume)
    except TransitionError:
        raise  # the job went back to the queue without us: its next run records the outcome
    except SoftTimeLimitExceeded:
        limit = settings.job_time_limit_s
        return partial(states.fail, error=f"stopped at the time limit of {limit} s per job (BNLAB_JOB_TIME_LIMIT_S)")
    except Exception as error:
        return partial(states.fail, error=_describe(error))
    finish = states.cancel if summary.stop_reason == "cancelled" else states.succeed
    return partial(finish, summary=summary.to_dict())


def _resume_state(job_id: UUID, checkpoint: Checkpoint | None, settings: Settings) -> dict | None:
    """The newest checkpoint of an earlier attempt (its worker was lost), or None to start at step 0."""
    if checkpoint is None:
        return None
    path = settings.data_dir / checkpoint.path
    if not path.is_file():  # e.g. written on another machine's disk
        log.warning("job %s: checkpoint %s is missing; starting from step 0", job_id, path)
        return None
    log.info("job %s: resuming from the checkpoint of step %s", job_id, checkpoint.step)
    return torch.load(path, weights_only=False)


def _describe(error: Exception) -> str:
    """The job's error text: a user's mistake (ValueError, e.g. a dataset that cannot load) as is; a bug, logged."""
    if isinstance(error, ValueError):
        return str(error)
    log.exception("job failed with an unexpected error")
    return f"internal error ({type(error).__name__}: {error}); the worker's log has the details"
