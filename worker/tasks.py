"""The Celery task, thin (rule 4): only a job id travels (rule 1); worker.job does the work."""

import logging
import os
from uuid import UUID

from celery.exceptions import Reject

from dispatch.broker import TRAIN_TASK
from worker import hand_back
from worker.celery_app import app, dispatcher, settings
from worker.retry import DatabaseUnavailable

log = logging.getLogger(__name__)


@app.task(name=TRAIN_TASK, bind=True)
def train_job(self, job_id: str) -> None:
    """Run one job to its end, every outcome recorded in the job's row; without a database, the broker keeps it."""
    from worker.job import run_job  # torch loads here, in the pool's child, never in the parent that forks (rule 11)

    hand_back.listen()
    if hand_back.requested.is_set():  # a message this stopping worker had prefetched: for the next worker
        raise Reject("this worker is stopping", requeue=True)
    try:
        run_job(UUID(job_id), f"{self.request.hostname}:{os.getpid()}", settings)
    except DatabaseUnavailable as error:  # not acknowledged as done: the message goes back to the queue
        raise Reject(str(error), requeue=True) from error
    send_next()


def send_next() -> None:
    """A worker is free now: send the jobs that were waiting for a share (the sweep would, later)."""
    try:
        dispatcher().dispatch()
    except Exception:
        log.exception("could not send the next jobs; the sweep will")
