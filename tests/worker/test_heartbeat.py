"""The heartbeat thread (in this process, a short lease): it keeps the lease while the training thread is busy,
writes progress, reads the cancel flag, stops when asked and tells the training thread when the job is lost."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from store import Job, TransitionError, session_scope, states
from store.timestamps import utcnow
from tests.worker.conftest import SMALL, Backend, flaky
from worker.heartbeat import Heartbeat
from worker.held_job import HeldJob
from worker.reporter import DatabaseReporter
from worker.write_behind import WriteBehind

pytestmark = pytest.mark.usefixtures("discard_unfinished")
LEASE_S = 1.0  # a beat every third of a second


def claimed(backend: Backend) -> HeldJob:
    """A job this test holds as "test-worker", under the short lease."""
    held = HeldJob(backend.factory, backend.create(**SMALL), "test-worker", LEASE_S)
    held.claim()
    return held


def renewed_beyond(backend: Backend, held: HeldJob, leases: float) -> Job:
    """Wait until the lease reaches `leases` leases past the claim: renewed while this thread only waits."""

    def far(session: Session) -> Job | None:
        job = session.get(Job, held.job_id)
        return job if job.lease_expires_at > job.started_at + timedelta(seconds=leases * LEASE_S) else None

    return backend.until(far, f"a lease renewed {leases} leases past the claim")


def beating(job_id: object) -> bool:
    """Whether the heartbeat thread of the job is alive."""
    return any(thread.name == f"bnlab-heartbeat-{job_id}" for thread in threading.enumerate())


def test_the_lease_outlives_a_training_thread_that_does_nothing_for_several_leases(backend):
    held = claimed(backend)
    with Heartbeat(held) as heartbeat, WriteBehind(held) as writes:
        reporter = DatabaseReporter(writes, heartbeat)
        reporter.progress(1, 4)
        job = renewed_beyond(backend, held, leases=3)
        assert (job.status, job.worker, job.progress) == ("running", "test-worker", 0.25)
        assert beating(held.job_id) and not reporter.should_stop()
    assert not beating(held.job_id)


def test_the_heartbeat_stops_when_training_raises(backend):
    held = claimed(backend)
    with pytest.raises(RuntimeError), Heartbeat(held):
        raise RuntimeError("the engine broke")
    assert not beating(held.job_id)


def test_the_cancel_flag_reaches_should_stop(backend):
    held = claimed(backend)
    with Heartbeat(held) as heartbeat, WriteBehind(held) as writes:
        with session_scope(backend.factory) as session:
            states.request_cancel(session, held.job_id)
        reporter = DatabaseReporter(writes, heartbeat)
        backend.until(lambda _: reporter.should_stop(), "the cancel flag read by the heartbeat")


def test_a_lost_job_stops_training_at_its_next_call_and_nothing_is_written(backend):
    held = claimed(backend)
    with Heartbeat(held) as heartbeat, WriteBehind(held) as writes:
        reporter = DatabaseReporter(writes, heartbeat)
        with session_scope(backend.factory) as session:  # re-queued after a stall, and claimed by another
            session.get(Job, held.job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
            session.flush()
            states.requeue_lost(session, max_attempts=3)
            states.claim(session, held.job_id, "successor", lease_s=600)
        before = backend.job(held.job_id)
        backend.until(lambda _: heartbeat.lost, "the heartbeat finding the job lost")
        for call in (
            lambda: reporter.progress(2, 4),
            lambda: reporter.log([]),
            lambda: reporter.save_checkpoint(2, {}),
        ):
            with pytest.raises(TransitionError):
                call()
    assert not beating(held.job_id)
    after = backend.job(held.job_id)
    assert (after.worker, after.progress, after.lease_expires_at) == ("successor", 0.0, before.lease_expires_at)
    assert backend.points(held.job_id) == {}


def test_heartbeats_hit_by_database_blips_are_retried(backend, monkeypatch):
    calls = flaky(monkeypatch, states, "heartbeat", failures=2)
    held = claimed(backend)
    with Heartbeat(held) as heartbeat:
        renewed_beyond(backend, held, leases=2)
        assert heartbeat.lost is None
    assert len(calls) > 2
