"""How run_job maps the outcomes a real worker rarely meets onto the job (run in this process, the engine faked)."""

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from store import Job, session_scope, states
from store.timestamps import utcnow
from tests.worker.conftest import SMALL
from worker import job as job_module
from worker.job import run_job


def fake_train(monkeypatch: pytest.MonkeyPatch, effect) -> None:
    """Replace the engine with `effect(reporter)` for this test."""
    monkeypatch.setattr(job_module, "train", lambda spec, reporter, data_dir, resume: effect(reporter))


def raise_(error: BaseException):
    """An effect that raises `error`."""

    def effect(reporter):
        raise error

    return effect


def test_the_soft_time_limit_fails_the_job_naming_the_limit(backend, monkeypatch):
    fake_train(monkeypatch, raise_(SoftTimeLimitExceeded()))
    job_id = backend.create(**SMALL)
    run_job(job_id, "test", backend.settings)
    job = backend.job(job_id)
    assert job.status == "failed"
    assert f"time limit of {backend.settings.job_time_limit_s} s" in job.error and "BNLAB_JOB_TIME_LIMIT_S" in job.error


def test_an_unexpected_error_fails_the_job_as_internal(backend, monkeypatch):
    fake_train(monkeypatch, raise_(RuntimeError("boom")))
    job_id = backend.create(**SMALL)
    run_job(job_id, "test", backend.settings)
    assert backend.job(job_id).error.startswith("internal error (RuntimeError: boom)")


def test_a_job_no_longer_queued_is_left_alone(backend, monkeypatch):
    fake_train(monkeypatch, raise_(AssertionError("a cancelled job must not train")))
    job_id = backend.create(**SMALL)
    with session_scope(backend.factory) as session:
        states.request_cancel(session, job_id)
    run_job(job_id, "test", backend.settings)
    assert (backend.job(job_id).status, backend.job(job_id).attempts) == ("cancelled", 0)


def test_a_job_requeued_under_a_slow_worker_is_left_to_its_next_run(backend, monkeypatch):
    """The lease ran out while this worker still trained: its next heartbeat stops it, nothing is recorded."""

    def lose_the_lease(reporter):
        with session_scope(backend.factory) as session:
            session.get(Job, reporter.job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
            session.flush()
            states.requeue_lost(session)
        reporter.synced_at = float("-inf")  # a heartbeat is due
        reporter.progress(1, 10)

    fake_train(monkeypatch, lose_the_lease)
    job_id = backend.create(**SMALL)
    run_job(job_id, "test", backend.settings)
    job = backend.job(job_id)
    assert (job.status, job.attempts, job.error, job.summary) == ("queued", 1, None, None)
