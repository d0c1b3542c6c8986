"""The dispatcher sends due jobs, then records them; a failed send leaves the job due for the next sweep."""

from uuid import UUID

import pytest

from contracts.settings import Settings
from dispatch import Dispatcher
from store import Job, SessionFactory


class Broker:
    """Records what was sent; refuses everything after `up_to` sends."""

    def __init__(self, up_to: int | None = None) -> None:
        self.sent: list[UUID] = []
        self.queues: list[str] = []
        self.up_to = up_to

    def send(self, job_id: UUID, queue: str) -> None:
        if self.up_to is not None and len(self.sent) >= self.up_to:
            raise ConnectionError("broker down")
        self.sent.append(job_id)
        self.queues.append(queue)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A share of 2 per owner."""
    return Settings(data_dir=tmp_path, dispatch_per_owner=2)


def dispatched(factory: SessionFactory, job_id: UUID) -> bool:
    """Whether the job's message is recorded as sent."""
    with factory() as session:
        return session.get(Job, job_id).dispatched_at is not None


def test_due_jobs_are_sent_and_recorded(factory, make_job, settings):
    jobs = [make_job("alice").id for _ in range(3)]
    broker = Broker()
    assert Dispatcher(factory, broker.send, settings).dispatch() == jobs[:2] == broker.sent
    assert [dispatched(factory, job_id) for job_id in jobs] == [True, True, False]
    assert Dispatcher(factory, broker.send, settings).dispatch() == []  # the share is taken


def test_a_failed_send_stops_and_leaves_the_rest_due(factory, make_job, settings):
    first, second = make_job("alice").id, make_job("alice").id
    assert Dispatcher(factory, Broker(up_to=1).send, settings).dispatch() == [first]
    assert (dispatched(factory, first), dispatched(factory, second)) == (True, False)
    assert Dispatcher(factory, Broker().send, settings).dispatch() == [second]


def test_a_job_goes_to_the_queue_of_the_device_it_needs(factory, make_job, settings):
    jobs = [make_job("alice", training={"device": device}).id for device in ("cuda", "auto")]
    broker = Broker()
    assert Dispatcher(factory, broker.send, settings).dispatch() == jobs
    assert broker.queues == ["cuda", "cpu"]  # auto runs wherever there is room: every worker takes cpu
