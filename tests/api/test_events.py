"""Server-sent events: a job's status and metric points, live, ending once it has finished."""

import threading
from uuid import UUID

import pytest

from api.routes import events
from store import JobRepository, MetricRepository, session_scope, states
from tests.api.helpers import parse_events


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


def test_a_finished_job_streams_its_status_and_points_then_ends(client, alice, submit, sessions):
    job = submit()
    with session_scope(sessions) as session:
        MetricRepository(session).upsert(UUID(job["id"]), [("train_loss", 0, 2.0), ("train_loss", 10, 1.0)])
    client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)

    response = client.get(f"/v1/jobs/{job['id']}/events", headers=alice)

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    (first, status), (second, metric) = parse_events(response.text)
    assert (first, status["id"], status["status"]) == ("status", job["id"], "cancelled")
    assert (second, metric) == ("metric", {"job_id": job["id"], "series": {"train_loss": [[0, 2.0], [10, 1.0]]}})


def test_a_running_job_streams_each_change_until_it_succeeds(client, alice, submit, sessions, polls):
    job_id = UUID(submit()["id"])

    def work() -> None:
        """What a worker would do, one change between two polls of the stream."""
        changes = [
            lambda session: states.claim(session, job_id, "test-worker", lease_s=60),
            lambda session: MetricRepository(session).upsert(job_id, [("train_loss", 0, 2.0), ("test_acc", 0, 0.1)]),
            lambda session: states.heartbeat(session, job_id, progress=0.5, lease_s=60),
            lambda session: MetricRepository(session).upsert(job_id, [("train_loss", 10, 1.0)]),
            lambda session: states.succeed(session, job_id, {"final_test_acc": 0.9}),
        ]
        for change in changes:
            polls.wait_for_next()
            with session_scope(sessions) as session:
                change(session)

    worker = threading.Thread(target=work)
    worker.start()
    response = client.get(f"/v1/jobs/{job_id}/events", headers=alice)
    worker.join()

    summary = [
        (name, (data["status"], data["progress"]) if name == "status" else data["series"])
        for name, data in parse_events(response.text)
    ]
    assert summary == [
        ("status", ("queued", 0)),
        ("status", ("running", 0)),
        ("metric", {"test_acc": [[0, 0.1]], "train_loss": [[0, 2.0]]}),
        ("status", ("running", 0.5)),
        ("metric", {"train_loss": [[10, 1.0]]}),
        ("status", ("succeeded", 1)),
    ]


def test_the_stream_ends_when_the_job_is_deleted_between_two_polls(client, alice, submit, sessions, polls):
    job_id = UUID(submit()["id"])

    def cancel_and_delete() -> None:
        polls.wait_for_next()
        with session_scope(sessions) as session:
            owner = states.cancel(session, job_id).owner
            JobRepository(session).delete(owner, job_id)

    worker = threading.Thread(target=cancel_and_delete)
    worker.start()
    response = client.get(f"/v1/jobs/{job_id}/events", headers=alice)
    worker.join()

    assert [data["status"] for _, data in parse_events(response.text)] == ["queued"]
