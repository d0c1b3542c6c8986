"""One job from claim to finish: the store's transitions around the engine (rule 4), in the process that trains."""

import io
import logging
from collections.abc import Callable
from operator import methodcaller
from uuid import UUID

import torch
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import SQLAlchemyError

from contracts.settings import Settings
from contracts.spec import JobSpec
from store import Checkpoint, Job, JobLease, TransitionError, sessions_for
from worker.engine import RankLost, train
from worker.heartbeat import Heartbeat
from worker.held_job import HeldJob
from worker.reporter import DatabaseReporter
from worker.retry import DatabaseUnavailable
from worker.write_behind import WriteBehind

log = logging.getLogger(__name__)

Finish = Callable[[JobLease], Job]


def run_job(job_id: UUID, worker: str, settings: Settings) -> None:
    """Claim, train, record the outcome; a job that is not, or no longer, ours (TransitionError) is left alone.

    A claim that the database never answers raises DatabaseUnavailable: the task hands the message back.
    """
    held = HeldJob(sessions_for(settings.resolved_database_url), job_id, worker, settings.lease_s)
    try:
        job, checkpoint = held.claim()
        _train_and_finish(held, job, checkpoint, settings)
    except TransitionError as error:  # cancelled, run elsewhere, or re-queued after our lease ran out
        log.info("job %s left alone: %s", job_id, error)


def _train_and_finish(held: HeldJob, job: Job, checkpoint: Checkpoint | None, settings: Settings) -> None:
    """Train under a heartbeat, then record the end; with the database away for a lease, the lease decides.

    Never a failure because of the database: the sweep re-queues the job and it resumes from its checkpoint.
    """
    try:
        with Heartbeat(held) as heartbeat, WriteBehind(held) as writes:
            finish = _train(job, checkpoint, DatabaseReporter(writes, heartbeat), settings)
        job = held.write(finish)
    except DatabaseUnavailable as error:
        log.warning("job %s left to its lease: %s", job.id, error)
        return
    log.info("job %s %s%s", job.id, job.status, f": {job.error}" if job.error else "")


def _train(job: Job, checkpoint: Checkpoint | None, reporter: DatabaseReporter, settings: Settings) -> Finish:
    """Run the engine; return the job's end: succeed or cancel with the summary (divergence is a success), fail, or
    back to the queue (paused: this worker is stopping, worker/hand_back.py; or a rank of the job was lost)."""
    try:
        spec = JobSpec.model_validate(job.spec)
        resume = _resume_state(job.id, checkpoint)
        summary = train(spec, reporter, settings.data_dir, resume, collective_timeout_s=settings.collective_timeout_s)
        reporter.drain()
    except (TransitionError, DatabaseUnavailable):
        raise  # the job is no longer ours, or the database is away: its next run records the outcome
    except RankLost as error:  # like a lost worker: the job resumes from its checkpoint, on any worker
        log.warning("job %s: %s; it goes back to the queue", job.id, error)
        return methodcaller("end_attempt", settings.max_attempts, str(error))
    except SoftTimeLimitExceeded:
        limit = settings.job_time_limit_s
        return methodcaller("fail", f"stopped at the time limit of {limit} s per job (BNLAB_JOB_TIME_LIMIT_S)")
    except Exception as error:
        return methodcaller("fail", _describe(error))
    if summary.stop_reason == "paused":
        log.info("job %s: asked to stop: handing it back to the queue at step %s", job.id, summary.steps_done)
        return methodcaller("hand_back")
    return methodcaller("cancel" if summary.stop_reason == "cancelled" else "succeed", summary.to_dict())


def _resume_state(job_id: UUID, checkpoint: Checkpoint | None) -> dict | None:
    """The newest checkpoint of an earlier attempt (its worker was lost), or None to start at step 0.

    weights_only: the bytes come from the database, and unpickling them must not be able to run code. On the CPU:
    a checkpoint of a GPU run may resume on another worker, and loading the state moves it to the run's device.
    """
    if checkpoint is None:
        return None
    log.info("job %s: resuming from the checkpoint of step %s", job_id, checkpoint.step)
    return torch.load(io.BytesIO(checkpoint.data), map_location="cpu", weights_only=True)


def _describe(error: Exception) -> str:
    """The job's error for its owner, on one line: a user's mistake (ValueError) as is; never SQL or a URL.

    A database error's text holds the statement, its parameters and perhaps the server's address: it goes
    to the worker's log only.
    """
    if isinstance(error, SQLAlchemyError):
        log.exception("job failed: the database refused one of its writes")
        return "internal error: the database refused to store this job's results; the worker's log has the details"
    if isinstance(error, ValueError):
        return _one_line(str(error))
    log.exception("job failed with an unexpected error")
    return f"internal error ({type(error).__name__}: {_one_line(str(error))}); the worker's log has the details"


def _one_line(text: str) -> str:
    """A multi-line message (pydantic's, for one) as one line, its lines joined by semicolons."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
