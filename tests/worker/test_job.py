"""How run_job maps the outcomes a real worker rarely meets onto the job (in this process; the engine real or faked).

Database blips are injected into the store functions the worker calls: the write is tried again and succeeds.
"""

import math
import threading
import time
from datetime import timedelta

import pytest
from celery.exceptions import Reject, SoftTimeLimitExceeded
from sqlalchemy.exc import IntegrityError

from store import CheckpointRepository, Job, MetricRepository, session_scope, states
from store.timestamps import utcnow
from tests.worker.conftest import BLIP, SMALL, TIMEOUT_S, flaky, small
from worker import job as job_module
from worker.job import run_job

pytestmark = pytest.mark.usefixtures("discard_unfinished")

# Where a blip can hit a job's run, as (owner, function) of the store call it breaks.
BLIPS = {
    "claim": (states, "claim"),
    "metric write": (MetricRepository, "upsert"),
    "checkpoint write": (CheckpointRepository, "save"),
    "finish": (states, "succeed"),
}
LEAKS = ("SELECT", "INSERT", "postgresql://", "secret", "db.internal", "Traceback", "\n")


def fake_train(monkeypatch: pytest.MonkeyPatch, effect) -> None:
    """Replace the engine with `effect(reporter)` for this test."""
    monkeypatch.setattr(job_module, "train", lambda spec, reporter, data_dir, resume, **_: effect(reporter))


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


def test_a_user_mistake_is_shown_as_is_on_one_line(backend, monkeypatch):
    fake_train(monkeypatch, raise_(ValueError("training.batch_size (5000) exceeds\nthe 3000 training examples")))
    job_id = backend.create(**SMALL)
    run_job(job_id, "test", backend.settings)
    assert backend.job(job_id).error == "training.batch_size (5000) exceeds; the 3000 training examples"


def test_a_job_no_longer_queued_is_left_alone(backend, monkeypatch):
    fake_train(monkeypatch, raise_(AssertionError("a cancelled job must not train")))
    job_id = backend.create(**SMALL)
    with session_scope(backend.factory) as session:
        states.request_cancel(session, job_id)
    run_job(job_id, "test", backend.settings)
    assert (backend.job(job_id).status, backend.job(job_id).attempts) == ("cancelled", 0)


def test_a_job_requeued_under_a_slow_worker_is_left_to_its_next_run(backend, monkeypatch):
    """The lease ran out while this worker still trained: its heartbeat finds out, training stops, nothing recorded."""
    job_id = backend.create(**SMALL)

    def lose_the_lease(reporter):
        with session_scope(backend.factory) as session:
            session.get(Job, job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
            session.flush()
            assert job_id in states.requeue_lost(session, backend.settings.max_attempts)
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:  # training goes on until the reporter says the job is gone
            reporter.progress(1, 10)
            time.sleep(0.05)
        pytest.fail("the heartbeat never noticed that the job was no longer this worker's")

    fake_train(monkeypatch, lose_the_lease)
    run_job(job_id, "test", backend.settings)
    job = backend.job(job_id)
    assert (job.status, job.attempts, job.error, job.summary, job.progress) == ("queued", 1, None, None, 0.0)


@pytest.mark.parametrize("where", list(BLIPS))
def test_a_database_blip_is_retried_and_the_job_succeeds(backend, monkeypatch, where):
    calls = flaky(monkeypatch, *BLIPS[where], failures=2)
    job_id = backend.create(**small(checkpoint_every=50))
    run_job(job_id, "test", backend.settings)
    job = backend.job(job_id)
    assert (job.status, job.attempts, job.error, job.summary["steps_done"]) == ("succeeded", 1, None, 200)
    assert len(calls) > 2  # the two failures, then the successful tries
    assert {step for _, step in backend.points(job_id)} == {50, 100, 150, 200}


def test_a_database_error_shows_the_owner_one_plain_sentence(backend, monkeypatch):
    refused = IntegrityError(
        "INSERT INTO metric_points (job_id, name, step, value) VALUES (%(job_id)s, %(name)s, %(step)s, %(value)s)",
        {"job_id": "x", "name": "train_loss", "step": 50, "value": 1.0},
        Exception("duplicate key value violates unique constraint\nDETAIL: at postgresql://bnlab:secret@db.internal/x"),
    )
    flaky(monkeypatch, MetricRepository, "upsert", failures=math.inf, error=refused)
    job_id = backend.create(**SMALL)
    run_job(job_id, "test", backend.settings)
    job = backend.job(job_id)
    assert job.status == "failed" and job.error.startswith("internal error: the database refused")
    assert not [leak for leak in LEAKS if leak in job.error]


def test_an_error_raised_with_sql_in_it_never_reaches_the_owner(backend, monkeypatch):
    fake_train(monkeypatch, raise_(BLIP))
    job_id = backend.create(**SMALL)
    run_job(job_id, "test", backend.settings)
    job = backend.job(job_id)
    assert job.status == "failed" and not [leak for leak in LEAKS if leak in job.error]


@pytest.mark.slow
def test_a_database_away_for_a_whole_lease_leaves_the_job_to_its_lease(backend, monkeypatch):
    """Retries end within the lease; training stops and the job is not failed: the sweep re-queues it."""
    flaky(monkeypatch, MetricRepository, "upsert", failures=math.inf)
    job_id = backend.create(**SMALL)
    started = time.monotonic()
    run_job(job_id, "test", backend.settings)
    assert time.monotonic() - started < 3 * backend.settings.lease_s
    job = backend.job(job_id)
    assert (job.status, job.worker, job.error, job.summary, job.attempts) == ("running", "test", None, None, 1)
    assert backend.points(job_id) == {}


@pytest.mark.slow
def test_a_claim_the_database_never_answers_hands_the_message_back(backend, monkeypatch):
    """Not acknowledged as done: the task rejects the message with requeue, and the broker keeps it."""
    monkeypatch.setenv("BNLAB_DATA_DIR", str(backend.settings.data_dir))  # in case worker.tasks loads only now
    from worker import tasks

    monkeypatch.setattr(tasks, "settings", backend.settings)
    flaky(monkeypatch, states, "claim", failures=math.inf)
    job_id = backend.create(**SMALL)
    with pytest.raises(Reject) as rejected:
        tasks.train_job(str(job_id))
    assert rejected.value.requeue is True
    assert (backend.job(job_id).status, backend.job(job_id).attempts) == ("queued", 0)


@pytest.mark.slow
def test_a_message_taken_while_the_worker_stops_goes_back_to_the_broker_unclaimed(backend, monkeypatch):
    """A stopping worker may still be handed a message it prefetched (the job it just handed back, say): it must
    not claim it only to hand it back a step later."""
    monkeypatch.setenv("BNLAB_DATA_DIR", str(backend.settings.data_dir))  # in case worker.tasks loads only now
    from worker import hand_back, tasks

    monkeypatch.setattr(tasks, "settings", backend.settings)
    monkeypatch.setattr(hand_back, "requested", threading.Event())
    hand_back.requested.set()
    job_id = backend.create(**SMALL)
    with pytest.raises(Reject) as rejected:
        tasks.train_job(str(job_id))
    assert rejected.value.requeue is True
    assert (backend.job(job_id).status, backend.job(job_id).attempts, backend.job(job_id).worker) == ("queued", 0, None)
