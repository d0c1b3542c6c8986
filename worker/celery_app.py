"""The worker's Celery app (`celery -A worker.celery_app worker`): the shared configuration, the train task, and
the sweep beside the pool (worker/sweep.py): lost jobs back to the queue (rule 7), due jobs to the broker (rule 12);
at a stop, running jobs handed back to the queue (worker/hand_back.py).
"""

import logging
import threading
import time
from functools import cache, partial

from celery.signals import worker_ready

from contracts.settings import Settings
from dispatch import Dispatcher, enqueue, make_celery
from store import sessions_for
from worker import hand_back
from worker.fork_guard import hold_forks_during_writes, writing
from worker.sweep import sweep

log = logging.getLogger(__name__)

settings = Settings()
app = make_celery(settings)
app.conf.include = ["worker.tasks"]  # registered at worker start; worker.tasks imports no torch (rule 11)
hand_back.connect()


@cache
def dispatcher() -> Dispatcher:
    """This process's dispatcher, made on first use (so after the pool's fork, in a child)."""
    return Dispatcher(sessions_for(settings.resolved_database_url), partial(enqueue, app), settings)


@worker_ready.connect
def _start_sweeping(**_: object) -> None:
    """One daemon thread in the worker's main process: it sweeps at start, then every half lease."""
    hold_forks_during_writes()
    threading.Thread(target=_sweep_forever, name="bnlab-sweep", daemon=True).start()


def _sweep_forever() -> None:
    """Sweep until the worker exits; a failed sweep (database briefly away) is logged and tried again."""
    while True:
        try:
            with writing():
                sweep(settings, dispatcher())
        except Exception:
            log.exception("the sweep failed; trying again in %s s", settings.lease_s / 2)
        time.sleep(settings.lease_s / 2)
