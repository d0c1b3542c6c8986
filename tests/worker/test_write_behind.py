"""The writes thread (in this process): the training thread's writes are made in order on a thread of their own,
drain waits for them, the first failure stops the rest and reaches the training thread, and closing writes the rest."""

import math
import threading
from datetime import timedelta

import pytest

from store import Job, JobLease, TransitionError, session_scope, states
from store.timestamps import utcnow
from tests.worker.conftest import SMALL, Backend
from worker.held_job import HeldJob
from worker.write_behind import WriteBehind

pytestmark = pytest.mark.usefixtures("discard_unfinished")


def claimed(backend: Backend) -> HeldJob:
    """A job this test holds as "test-worker"."""
    held = HeldJob(backend.factory, backend.create(**SMALL), "test-worker", lease_s=60)
    held.claim()
    return held


def points_at(step: int, value: float | None = None):
    """A write of one "loss" point at `step` (its value the step unless given)."""
    return lambda lease: lease.write_points([("loss", step, float(step) if value is None else value)])


def test_writes_are_made_in_order_on_their_own_thread_and_drain_waits_for_them(backend):
    held = claimed(backend)
    gate, made = threading.Event(), []

    def gated(step: int):
        def write(lease: JobLease) -> None:
            gate.wait()
            points_at(step)(lease)
            made.append((step, threading.current_thread().name))

        return write

    with WriteBehind(held) as writes:
        for step in (1, 2, 3):
            writes.put(gated(step))
        assert made == []  # put returned while the first write still waited: training does not wait on the database
        gate.set()
        writes.drain()
        assert made == [(step, f"bnlab-writes-{held.job_id}") for step in (1, 2, 3)]
    assert backend.points(held.job_id) == {("loss", 1): 1.0, ("loss", 2): 2.0, ("loss", 3): 3.0}


def test_closing_writes_what_is_still_queued(backend):
    held = claimed(backend)
    with WriteBehind(held) as writes:
        for step in range(1, 6):
            writes.put(points_at(step))
    assert backend.points(held.job_id) == {("loss", step): float(step) for step in range(1, 6)}


def test_the_first_failed_write_stops_the_later_ones_and_reaches_the_training_thread(backend):
    held = claimed(backend)
    with WriteBehind(held) as writes:
        writes.put(points_at(1))
        writes.put(points_at(2, math.nan))
        writes.put(points_at(3))
        with pytest.raises(ValueError, match="must be finite"):
            writes.drain()
        with pytest.raises(ValueError, match="must be finite"):
            writes.put(points_at(4))
    assert backend.points(held.job_id) == {("loss", 1): 1.0}


def test_a_job_lost_to_another_worker_gets_no_write_and_training_learns_it(backend):
    held = claimed(backend)
    with session_scope(backend.factory) as session:  # re-queued after a stall, and claimed by another
        session.get(Job, held.job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
        session.flush()
        states.requeue_lost(session, max_attempts=3)
        states.claim(session, held.job_id, "successor", lease_s=600)
    with WriteBehind(held) as writes:
        writes.put(points_at(1))
        with pytest.raises(TransitionError):
            writes.drain()
    assert backend.points(held.job_id) == {}
