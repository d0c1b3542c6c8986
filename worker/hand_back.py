"""A worker told to stop (SIGTERM from `docker compose stop`, Ctrl-C) hands its running jobs back to the queue.

Celery's warm shutdown waits for running tasks, and a training job may take hours: the stop would end in a SIGKILL
and the job would wait for its lease. Instead the main process signals each pool child (HAND_BACK); the child's job
sees the request at its next step, checkpoints, goes back to `queued` without spending an attempt, and its task
ends, so the worker exits within a step and any worker resumes the job from that checkpoint.
"""

import contextlib
import os
import signal
import threading

from billiard.process import active_children
from celery.signals import worker_shutting_down

# Ignored by default, so a child that has run no task yet (no handler) lives on; billiard takes SIGUSR1 for soft time
# limits and makes SIGUSR2 and the like exit a child. Only a socket given an owner (F_SETOWN) sends it otherwise.
HAND_BACK = signal.SIGURG

requested = threading.Event()


def connect() -> None:
    """Called by the worker's app at import: the main process passes a stop on to its pool's children."""
    worker_shutting_down.connect(_hand_back, weak=False)


def listen() -> None:
    """At the start of each task, in the process that trains: the signal only raises the flag the reporter polls
    (before its first task a child keeps the default, ignoring it)."""
    signal.signal(HAND_BACK, lambda *_: requested.set())


def _hand_back(how: str = "Warm", **_: object) -> None:
    """In the main process, at a warm shutdown: every child hands its job back (a solo pool's own job too)."""
    if how != "Warm":
        return
    requested.set()
    for child in active_children():
        with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
            os.kill(child.pid, HAND_BACK)
