"""Server-sent events: a job's status and metric points, live, with ids to resume from, ending once it has finished;
open streams capped per owner."""

import threading
import time
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from api.app import create_app
from api.routes import events
from store import JobRepository, MetricRepository, session_scope, states
from tests.api.helpers import assert_error, parse_events
from tests.api.servers import serving_in_thread

WORKER = "test-worker"


class CountedPolls:
    """Wraps the stream's poll so that a test changes the job only between two polls, and sees every change."""

    def __init__(self, poll):
        self.poll, self.started, self.finished = poll, 0, 0
        self.condition = threading.Condition()

    def __call__(self, *args):
        with self.condition:
            self.started += 1
            number = self.started
        result = self.poll(*args)
        with self.condition:
            self.finished = number
            self.condition.notify_all()
        return result

    def wait_for_next(self) -> None:
        """Block until a poll that starts after this call has finished."""
        with self.condition:
            target = self.started + 1
            assert self.condition.wait_for(lambda: self.finished >= target, timeout=20), "the stream stopped polling"


@pytest.fixture
def polls(monkeypatch) -> CountedPolls:
    """Fast, counted polls."""
    counted = CountedPolls(events._poll)
    monkeypatch.setattr(events, "_poll", counted)
    monkeypatch.setattr(events, "POLL_S", 0.02)
    return counted


def _finished_with_points(client, alice, submit, sessions, steps=(0, 10)) -> dict:
    """A cancelled job with train_loss at `steps` (value 2 at the first, 1 after), as GET returns it."""
    job = submit()
    points = [("train_loss", step, 2.0 if index == 0 else 1.0) for index, step in enumerate(steps)]
    with session_scope(sessions) as session:
        MetricRepository(session).upsert(UUID(job["id"]), points)
    client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)
    return client.get(f"/v1/jobs/{job['id']}", headers=alice).json()


def test_a_finished_job_streams_its_whole_status_and_its_points_then_ends(client, alice, submit, sessions):
    job = _finished_with_points(client, alice, submit, sessions)

    response = client.get(f"/v1/jobs/{job['id']}/events", headers=alice)

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert parse_events(response.text) == [
        ("status", "-1", job),
        ("metric", "10", {"job_id": job["id"], "series": {"train_loss": [[0, 2.0], [10, 1.0]]}}),
    ]


def test_a_running_job_streams_only_what_changed_until_it_succeeds(client, alice, submit, sessions, polls):
    submitted = submit()
    job_id = UUID(submitted["id"])

    def work() -> None:
        """What a worker would do, one change between two polls of the stream."""
        changes = [
            lambda session: states.claim(session, job_id, WORKER, lease_s=60),
            lambda session: MetricRepository(session).upsert(job_id, [("train_loss", 0, 2.0), ("test_acc", 0, 0.1)]),
            lambda session: states.heartbeat(session, job_id, worker=WORKER, progress=0.5, lease_s=60),
            lambda session: MetricRepository(session).upsert(job_id, [("train_loss", 10, 1.0)]),
            lambda session: states.succeed(session, job_id, worker=WORKER, summary={"final_test_acc": 0.9}),
        ]
        for change in changes:
            polls.wait_for_next()
            with session_scope(sessions) as session:
                change(session)

    worker = threading.Thread(target=work)
    worker.start()
    response = client.get(f"/v1/jobs/{job_id}/events", headers=alice)
    worker.join()

    final = client.get(f"/v1/jobs/{job_id}", headers=alice).json()
    assert parse_events(response.text) == [
        ("status", "-1", submitted),
        ("status", "-1", {"id": str(job_id), "status": "running", "attempts": 1, "started_at": final["started_at"]}),
        ("metric", "0", {"job_id": str(job_id), "series": {"test_acc": [[0, 0.1]], "train_loss": [[0, 2.0]]}}),
        ("status", "0", {"id": str(job_id), "progress": 0.5}),
        ("metric", "10", {"job_id": str(job_id), "series": {"train_loss": [[10, 1.0]]}}),
        (
            "status",
            "10",
            {
                "id": str(job_id),
                "status": "succeeded",
                "progress": 1.0,
                "summary": {"final_test_acc": 0.9},
                "finished_at": final["finished_at"],
            },
        ),
    ]


@pytest.mark.parametrize(("last_event_id", "after"), [("-1", [0, 10, 20]), ("0", [10, 20]), ("10", [20]), ("20", [])])
def test_last_event_id_resumes_with_the_status_and_only_the_later_points(
    client, alice, submit, sessions, last_event_id, after
):
    job = _finished_with_points(client, alice, submit, sessions, steps=(0, 10, 20))

    response = client.get(f"/v1/jobs/{job['id']}/events", headers={**alice, "Last-Event-ID": last_event_id})

    points = [[step, 2.0 if step == 0 else 1.0] for step in after]
    expected = [("status", last_event_id, job)]
    if points:
        expected.append(("metric", "20", {"job_id": job["id"], "series": {"train_loss": points}}))
    assert parse_events(response.text) == expected


@pytest.mark.parametrize("last_event_id", ["seven", "-2", "2147483648", "1.5"])
def test_a_last_event_id_that_is_no_position_is_refused(client, alice, submit, last_event_id):
    job = submit()

    response = client.get(f"/v1/jobs/{job['id']}/events", headers={**alice, "Last-Event-ID": last_event_id})

    assert assert_error(response, 422, "validation_error")["details"][0]["field"] == "header.last-event-id"


def test_the_stream_ends_when_the_job_is_deleted_between_two_polls(client, alice, submit, sessions, polls):
    job_id = UUID(submit()["id"])

    def cancel_and_delete() -> None:
        polls.wait_for_next()
        with session_scope(sessions) as session:
            owner = states.request_cancel(session, job_id).owner
            JobRepository(session).delete(owner, job_id)

    worker = threading.Thread(target=cancel_and_delete)
    worker.start()
    response = client.get(f"/v1/jobs/{job_id}/events", headers=alice)
    worker.join()

    assert [data["status"] for _, _, data in parse_events(response.text)] == ["queued"]


@pytest.fixture
def one_stream_each(settings, app):
    """A client of an app that lets each owner have one open stream."""
    with TestClient(create_app(settings.model_copy(update={"max_streams": 1}))) as client:
        yield client


def test_an_owner_past_max_streams_gets_429_until_a_stream_ends(one_stream_each, alice, bob, new_key, sessions, polls):
    client = one_stream_each
    running, other = (client.post("/v1/jobs", json={}, headers=alice).json()["id"] for _ in range(2))
    bobs = client.post("/v1/jobs", json={}, headers=bob).json()["id"]
    client.post(f"/v1/jobs/{bobs}/cancel", headers=bob)
    with session_scope(sessions) as session:
        states.claim(session, UUID(running), WORKER, lease_s=60)
    opened: list[httpx.Response] = []
    stream = threading.Thread(target=lambda: opened.append(client.get(f"/v1/jobs/{running}/events", headers=alice)))
    stream.start()
    polls.wait_for_next()  # alice's stream is open

    refused = client.get(f"/v1/jobs/{other}/events", headers=alice)
    bobs_stream = client.get(f"/v1/jobs/{bobs}/events", headers=bob)
    with session_scope(sessions) as session:
        states.succeed(session, UUID(running), worker=WORKER, summary={})
    stream.join(20)
    client.post(f"/v1/jobs/{other}/cancel", headers=alice)
    after = client.get(f"/v1/jobs/{other}/events", headers=alice)

    assert "BNLAB_MAX_STREAMS" in assert_error(refused, 429, "too_many_streams")["message"]
    assert int(refused.headers["retry-after"]) > 0
    assert bobs_stream.status_code == 200  # the cap is per owner
    assert [response.status_code for response in opened] == [200]
    assert after.status_code == 200 and parse_events(after.text)[0][2]["status"] == "cancelled"


def test_a_client_that_goes_away_gives_its_stream_back(settings, alice, submit, sessions):
    job = submit()
    with session_scope(sessions) as session:
        states.claim(session, UUID(job["id"]), WORKER, lease_s=60)
    app = create_app(settings.model_copy(update={"max_streams": 1}))
    url = f"/v1/jobs/{job['id']}/events"

    with serving_in_thread(app) as base, httpx.Client(base_url=base, headers=alice, timeout=30) as http:
        with http.stream("GET", url) as stream:
            lines = stream.iter_lines()  # kept: dropping a half-read iterator closes the connection
            assert next(lines).startswith("event: status")
            assert_error(http.get(url), 429, "too_many_streams")
        deadline, status = time.monotonic() + 20, 429
        while status == 429 and time.monotonic() < deadline:
            with http.stream("GET", url) as again:
                status = again.status_code
            time.sleep(0.1)

    assert status == 200


def test_a_database_outage_ends_the_stream_after_what_was_sent(client, alice, submit, monkeypatch):
    job = submit()
    poll, calls = events._poll, []

    def down_after_the_first(*args):
        """The first poll reads the job; then the database stops answering."""
        calls.append(args)
        if len(calls) > 1:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
        return poll(*args)

    monkeypatch.setattr(events, "_poll", down_after_the_first)
    monkeypatch.setattr(events, "POLL_S", 0.01)

    response = client.get(f"/v1/jobs/{job['id']}/events", headers=alice)

    assert response.status_code == 200 and parse_events(response.text) == [("status", "-1", job)]
    assert len(calls) == 2
