"""The sweep of a real worker: a job whose message never reached the broker still runs (the outbox), and the
embedded broker keeps no consumed message.
"""

import pytest
from sqlalchemy import create_engine, text

from tests.worker.conftest import SMALL, Backend, running_worker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker(backend: Backend):
    """One worker for this module's jobs, per setup."""
    with running_worker(backend, "sweep") as process:
        yield process


def test_a_job_never_sent_to_the_broker_is_sent_by_the_sweep_and_runs(backend, worker):
    job_id = backend.create(**SMALL)  # committed, but its message was lost before it reached the broker
    job = backend.finished(job_id)
    assert (job.status, job.attempts) == ("succeeded", 1) and job.dispatched_at is not None


def test_the_embedded_broker_keeps_no_consumed_message(backend, worker):
    if backend.settings.broker_url:
        pytest.skip("Redis deletes what it hands out; only the embedded broker's table could grow")
    finished = [backend.finished(backend.submit(**SMALL)) for _ in range(3)]
    assert [job.status for job in finished] == ["succeeded"] * 3
    broker = create_engine(backend.settings.resolved_broker_url.removeprefix("sqla+"))
    try:
        backend.until(lambda _: _messages(broker) == 0, "an empty message table")
    finally:
        broker.dispose()


def _messages(broker) -> int:
    """Rows in kombu's message table, consumed or not."""
    with broker.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM kombu_message")).scalar_one()
