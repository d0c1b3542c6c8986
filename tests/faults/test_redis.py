"""Redis restarted with and without persistence, and flushed, while jobs are queued and running: every job
finishes, each claimed once (the outbox sends lost messages again; the atomic claim makes duplicates harmless).
"""

import contextlib
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import serving
from tests.faults.conftest import (
    all_finished,
    clean_env,
    expected_points,
    jobs,
    points,
    sessions_of,
    submit,
    training_spec,
    until,
)
from tests.faults.servers import PrivateRedis, private_redis
from tests.store.conftest import postgres_database

# Minutes of outages under load: a command of their own (README), not the default run.
pytestmark = [pytest.mark.slow, pytest.mark.faults]
JOBS = 5  # with a share of 4 per owner and 2 workers: 2 running, 2 messages waiting, 1 not yet sent


@pytest.mark.parametrize("fault", ["restart-with-persistence", "restart-without-persistence", "flush"])
def test_every_job_finishes_once_through_a_redis_fault(fault, tmp_path, capsys):
    persistent = fault == "restart-with-persistence"
    with private_redis(tmp_path / "redis", persistent) as broker, contextlib.contextmanager(postgres_database)() as db:
        env = {
            **clean_env(), "BNLAB_DATA_DIR": str(tmp_path / "data"), "BNLAB_DATABASE_URL": db,
            "BNLAB_BROKER_URL": broker.url, "BNLAB_LEASE_S": "15", "BNLAB_REDISPATCH_S": "5",
        }  # fmt: skip
        with serving(env, tmp_path) as service, service.client() as client:
            sessions = sessions_of(env)
            ids = [submit(client, training_spec(f"redis-{index}")) for index in range(JOBS)]
            until(lambda: _running_with_points(sessions, ids) >= 2, "two jobs running with metrics")
            struck = datetime.now(UTC)
            strike(broker, fault)
            finished = until(lambda: all_finished(sessions, ids), "end of every job")
            complete = [points(sessions, job.id) == expected_points(training_spec("")) for job in finished]
    assert [(job.status, job.attempts) for job in finished] == [("succeeded", 1)] * JOBS
    assert complete == [True] * JOBS  # no metric point missing (and none can be twice: the key is (job, name, step))
    later = [job.started_at for job in finished if job.started_at > struck]
    with capsys.disabled():
        delay = (min(later) - struck).total_seconds() if later else 0.0
        print(f"\nredis {fault}: first job started {delay:.1f} s after the fault; claims per job: 1")


def strike(broker: PrivateRedis, fault: str) -> None:
    """The fault: the server restarted (its queue kept only with persistence), or every key deleted."""
    if fault == "flush":
        broker.client().flushdb()
    else:
        broker.restart()


def _running_with_points(sessions, ids) -> int:
    """How many of the jobs are running and have written metric points."""
    return sum(1 for job in jobs(sessions, ids) if job.status == "running" and points(sessions, job.id))
