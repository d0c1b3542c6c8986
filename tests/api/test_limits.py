"""What a submission must fit besides the spec: the workers' threads, the owner's active jobs and submission rate;
and an owner's next job going out as soon as one leaves the queue."""

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from contracts.spec import CANONICAL_EXAMPLE
from store import Job, session_scope, states
from store.timestamps import utcnow
from tests.api.helpers import assert_error, canonical, job_count


@pytest.fixture
def limited(settings, app, enqueued) -> Iterator:
    """A client factory: an app with some settings changed (recording what it enqueues, as `app` does)."""
    clients: list[TestClient] = []

    def make(**changes: object) -> TestClient:
        limited_app = create_app(settings.model_copy(update=changes), enqueuer=app.state.dispatcher.send)
        clients.append(TestClient(limited_app).__enter__())
        return clients[-1]

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_more_threads_than_the_workers_may_use_is_refused_naming_the_setting(limited, alice, sessions):
    client = limited(max_job_threads=4)
    before = job_count(sessions)

    refused = client.post("/v1/jobs", json=canonical(training__threads=5), headers=alice)
    accepted = client.post("/v1/jobs", json=canonical(training__threads=4), headers=alice)

    error = assert_error(refused, 422, "validation_error")
    message = "training.threads may be at most 4 here (BNLAB_MAX_JOB_THREADS)"
    assert error["details"] == [{"field": "body.training.threads", "message": message}]
    assert accepted.status_code == 201 and job_count(sessions) == before + 1


def test_processes_times_threads_beyond_the_workers_cores_is_refused_naming_both(limited, alice, sessions):
    client = limited(max_job_threads=4)
    before = job_count(sessions)

    refused = client.post("/v1/jobs", json=canonical(training__processes=3, training__threads=2), headers=alice)
    accepted = client.post("/v1/jobs", json=canonical(training__processes=2, training__threads=2), headers=alice)

    error = assert_error(refused, 422, "validation_error")
    message = (
        "training.processes x training.threads (3 x 2) may be at most 4 here "
        "(BNLAB_MAX_JOB_THREADS, the cores a job may use): lower either"
    )
    assert error["details"] == [{"field": "body.training.processes", "message": message}]
    assert accepted.status_code == 201 and job_count(sessions) == before + 1


def test_an_owner_at_max_active_jobs_gets_429_until_one_finishes(limited, alice, bob):
    client = limited(max_active_jobs=2)
    first, _ = (client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice).json() for _ in range(2))

    refused = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice)
    bobs = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=bob)
    client.post(f"/v1/jobs/{first['id']}/cancel", headers=alice)
    after_cancel = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice)

    error = assert_error(refused, 429, "too_many_active_jobs")
    assert "2 jobs queued or running" in error["message"] and "BNLAB_MAX_ACTIVE_JOBS" in error["message"]
    assert int(refused.headers["retry-after"]) > 0
    assert (bobs.status_code, after_cancel.status_code) == (201, 201)  # per owner; a finished job frees its slot


def test_an_owner_past_max_submissions_per_minute_waits_until_the_oldest_leaves_the_minute(limited, alice, sessions):
    client = limited(max_submissions_per_minute=2)
    oldest, newer = (client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice).json() for _ in range(2))
    for job in (oldest, newer):
        client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)  # finished jobs still count: it is a rate
    with session_scope(sessions) as session:
        session.execute(
            update(Job).where(Job.id == UUID(oldest["id"])).values(created_at=utcnow() - timedelta(seconds=50))
        )

    refused = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice)
    with session_scope(sessions) as session:  # the oldest submission leaves the minute
        session.execute(
            update(Job).where(Job.id == UUID(oldest["id"])).values(created_at=utcnow() - timedelta(seconds=61))
        )
    accepted = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice)

    error = assert_error(refused, 429, "rate_limited")
    assert "BNLAB_MAX_SUBMISSIONS_PER_MINUTE" in error["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 10  # the oldest entered 50 s ago: it leaves in at most 10 s
    assert f"retry in {refused.headers['retry-after']} s" in error["message"]
    assert accepted.status_code == 201


@pytest.mark.parametrize("limit", ["max_active_jobs", "max_submissions_per_minute"])
def test_an_idempotent_replay_is_no_new_submission(limited, alice, sessions, limit):
    client = limited(**{limit: 1})
    headers = {**alice, "Idempotency-Key": "once"}
    first = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=headers)

    again = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=headers)
    conflict = client.post("/v1/jobs", json=canonical(training__seed=1), headers=headers)
    new = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers={**alice, "Idempotency-Key": "twice"})

    assert (first.status_code, again.status_code) == (201, 201) and again.json() == first.json()
    assert_error(conflict, 409, "idempotency_conflict")
    assert_error(new, 429)


def test_cancelling_a_queued_job_sends_the_owners_next_one(limited, alice, enqueued):
    client = limited(dispatch_per_owner=1)
    first, second = (client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice).json() for _ in range(2))
    sent_before = [job_id for job_id, _ in enqueued]

    client.post(f"/v1/jobs/{first['id']}/cancel", headers=alice)

    assert sent_before == [UUID(first["id"])]  # the second waited for the owner's share
    assert [job_id for job_id, _ in enqueued] == [UUID(first["id"]), UUID(second["id"])]


def test_deleting_a_job_sends_the_owners_next_one(limited, alice, sessions, enqueued):
    client = limited(dispatch_per_owner=1)
    first, second = (client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice).json() for _ in range(2))
    with session_scope(sessions) as session:  # the first ran and ended without the worker's own dispatch
        states.claim(session, UUID(first["id"]), "test-worker", lease_s=60)
        states.succeed(session, UUID(first["id"]), worker="test-worker", summary={})

    response = client.delete(f"/v1/jobs/{first['id']}", headers=alice)

    assert response.status_code == 204
    assert [job_id for job_id, _ in enqueued] == [UUID(first["id"]), UUID(second["id"])]
