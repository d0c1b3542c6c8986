"""The worker's Celery app (`celery -A worker.celery_app worker`): the shared configuration, the train task, and
the sweep that puts jobs of dead workers back in the queue (rule 7).
"""

import logging
import threading
import time
from uuid import UUID

from celery.signals import worker_ready

from contracts.settings import Settings
from dispatch.broker import enqueue, make_celery
from store import session_scope, sessions_for, states

log = logging.getLogger(__name__)

settings = Settings()
app = make_celery(settings)
app.conf.include = ["worker.tasks"]  # registered at worker start; worker.tasks imports no torch (rule 11)


def requeue_lost_jobs() -> list[UUID]:
    """Running jobs whose lease ran out go back to the queue: in the database first, to the broker after commit."""
    with session_scope(sessions_for(settings.resolved_database_url)) as session:
        job_ids = states.requeue_lost(session, settings.max_attempts)
    for job_id in job_ids:
        enqueue(app, job_id)
        log.warning("job %s lost its worker (lease expired): queued again", job_id)
    return job_ids


@worker_ready.connect
def _start_sweeping(**_: object) -> None:
    """One daemon thread in the worker's main process: it sweeps at start, then every half lease."""
    threading.Thread(target=_sweep_forever, name="bnlab-requeue-lost", daemon=True).start()


def _sweep_forever() -> None:
    """Sweep until the worker exits; a failed sweep (database briefly away) is logged and tried again."""
    while True:
        try:
            requeue_lost_jobs()
        except Exception:
            log.exception("sweeping for lost jobs failed; trying again in %s s", settings.lease_s / 2)
        time.sleep(settings.lease_s / 2)
