"""PostgreSQL stopped for 10 s while jobs run and clients call the API: the API answers 503 in the one error shape
(never a hang, never a 500), the workers lose no metric point and fail no job, and everything recovers.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
import redis

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
from tests.faults.servers import private_postgres

# Minutes of outages under load: a command of their own (README), not the default run.
pytestmark = [pytest.mark.slow, pytest.mark.faults]
REDIS_URL = "redis://127.0.0.1:6379/12"  # a db of its own on the shared server, flushed before and after
OUTAGE_S = 10.0  # the fault's length, as the issue sets it (a duration of the scenario, not a wait for a condition)
SPEC = training_spec("pg-outage", steps=8000)
CLIENT_TIMEOUT_S = 20.0


@dataclass
class Calls:
    """What the clients saw: each answer's status, 503s with their Retry-After, and any call that never answered."""

    statuses: Counter = field(default_factory=Counter)
    unavailable: list[httpx.Response] = field(default_factory=list)
    hung: list[str] = field(default_factory=list)
    recovered_at: float | None = None


def call_forever(client: httpx.Client, job_id: str, calls: Calls, stop: threading.Event) -> None:
    """A client reading its jobs and one job, until told to stop."""
    while not stop.is_set():
        for path in ("/v1/jobs", f"/v1/jobs/{job_id}"):
            try:
                response = client.get(path, timeout=CLIENT_TIMEOUT_S)
            except httpx.HTTPError as error:
                calls.hung.append(f"{path}: {error!r}")
                continue
            calls.statuses[response.status_code] += 1
            if response.status_code == 503:
                calls.unavailable.append(response)
        time.sleep(0.05)


def test_a_database_outage_is_503_and_no_job_fails_or_loses_a_point(tmp_path, capsys):
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    with private_postgres() as database:
        env = {
            **clean_env(), "BNLAB_DATA_DIR": str(tmp_path / "data"), "BNLAB_DATABASE_URL": database.url,
            "BNLAB_BROKER_URL": REDIS_URL, "BNLAB_LEASE_S": "30",
        }  # fmt: skip
        with serving(env, tmp_path) as service, service.client() as client:
            sessions = sessions_of(env)
            ids = [submit(client, SPEC) for _ in range(3)]
            until(lambda: sum(job.status == "running" for job in jobs(sessions, ids)) >= 2, "two jobs running")
            calls, stop = Calls(), threading.Event()
            readers = [threading.Thread(target=call_forever, args=(client, str(ids[0]), calls, stop)) for _ in range(4)]
            for reader in readers:
                reader.start()
            database.stop()
            time.sleep(OUTAGE_S)
            database.start()
            restarted = time.monotonic()
            until(lambda: client.get("/v1/jobs").status_code == 200, "a 200 after the restart", timeout=60)
            recovery_s = time.monotonic() - restarted
            stop.set()
            for reader in readers:
                reader.join()
            finished = until(lambda: all_finished(sessions, ids), "end of every job")
            complete = [points(sessions, job.id) == expected_points(SPEC) for job in finished]
    broker.flushdb()
    assert calls.hung == [] and set(calls.statuses) <= {200, 503}, (calls.hung, calls.statuses)
    assert calls.unavailable, "no call met the outage"
    for response in calls.unavailable:
        assert response.json()["error"]["code"] == "database_unavailable" and int(response.headers["Retry-After"]) > 0
        assert "postgres" not in response.text.lower() and str(database.port) not in response.text
    assert [job.status for job in finished] == ["succeeded"] * 3 and complete == [True] * 3
    with capsys.disabled():
        print(f"\npostgres outage {OUTAGE_S:.0f} s: API answered {dict(calls.statuses)}; 200 again {recovery_s:.1f} s"
              f" after the restart; attempts {[job.attempts for job in finished]}; points lost: 0")  # fmt: skip
