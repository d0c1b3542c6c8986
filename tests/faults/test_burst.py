"""A burst of 1,000 small jobs from 32 concurrent clients against 2 workers: each is accepted or cleanly refused
with 429, and every accepted job finishes exactly once; and one owner's burst does not starve another owner.
"""

import contextlib
import statistics
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from sqlalchemy import select

from store import Job, session_scope
from tests.bnlab.conftest import bnlab
from tests.e2e.conftest import Service, serving
from tests.faults.conftest import all_finished, clean_env, jobs, sessions_of, submit, training_spec, until
from tests.store.conftest import postgres_database

# Minutes of outages under load: a command of their own (README), not the default run.
pytestmark = [pytest.mark.slow, pytest.mark.faults]
BURST, CLIENTS, OWNERS = 1000, 32, 4
PER_MINUTE = 200  # per owner: 250 submissions each within the minute, so some are refused
TINY = {"dataset": {"name": "spirals"}, "model": {"hidden": [8]}, "training": {"steps": 20, "batch_size": 32,
                                                                              "eval_every": 20}}  # fmt: skip
REDIS_URL = "redis://127.0.0.1:6379/11"


@contextlib.contextmanager
def service_on(kind: str, tmp_path, **settings: str) -> Iterator[Service]:
    """`bnlab serve --workers 2` on the embedded default or on PostgreSQL + Redis, with extra BNLAB_* settings."""
    env = {**clean_env(), "BNLAB_DATA_DIR": str(tmp_path / "data"), "BNLAB_LEASE_S": "30", **settings}
    if kind == "embedded":
        with serving(env, tmp_path) as service:
            yield service
        return
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    with contextlib.contextmanager(postgres_database)() as database_url:
        env |= {"BNLAB_DATABASE_URL": database_url, "BNLAB_BROKER_URL": REDIS_URL}
        with serving(env, tmp_path) as service:
            yield service
    broker.flushdb()


def new_key(service: Service) -> str:
    """A key of a new owner."""
    created = bnlab("keys", "create", "--name", "burst", env=service.env)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def send_burst(service: Service, keys: list[str], count: int) -> list[httpx.Response | Exception]:
    """`count` submissions from CLIENTS threads, client i using key i mod len(keys); every answer, in no order."""
    answers: list = []

    def client_thread(index: int) -> None:
        with service.client(keys[index % len(keys)]) as client:
            for _ in range(index, count, CLIENTS):
                try:
                    answers.append(client.post("/v1/jobs", json=TINY, timeout=60))
                except httpx.HTTPError as error:
                    answers.append(error)

    threads = [threading.Thread(target=client_thread, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize("kind", ["embedded", "postgres+redis"])
def test_a_burst_is_accepted_or_refused_cleanly_and_every_job_runs_once(kind, tmp_path, capsys):
    with service_on(kind, tmp_path, BNLAB_MAX_SUBMISSIONS_PER_MINUTE=str(PER_MINUTE)) as service:
        keys = [new_key(service) for _ in range(OWNERS)]
        started = time.monotonic()
        answers = send_burst(service, keys, BURST)
        sent_s = time.monotonic() - started
        assert [answer for answer in answers if isinstance(answer, Exception)] == []
        assert {answer.status_code for answer in answers} <= {201, 429}
        for refused in (answer for answer in answers if answer.status_code == 429):
            assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
        ids = [uuid.UUID(answer.json()["id"]) for answer in answers if answer.status_code == 201]
        sessions = sessions_of(service.env)
        finished = until(lambda: all_finished(sessions, ids), "end of every accepted job", timeout=900)
        drained_s = time.monotonic() - started
    assert len(set(ids)) == len(ids) and len(ids) >= OWNERS * PER_MINUTE
    assert {(job.status, job.attempts) for job in finished} == {("succeeded", 1)}
    latencies = sorted(answer.elapsed.total_seconds() for answer in answers)
    with capsys.disabled():
        p50, p99 = statistics.median(latencies), latencies[int(0.99 * len(latencies)) - 1]
        print(f"\nburst on {kind}: {len(ids)} accepted, {BURST - len(ids)} refused (429) in {sent_s:.1f} s; "
              f"POST /v1/jobs p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms; all done after {drained_s:.1f} s, "
              "each claimed once")  # fmt: skip


def test_one_owners_burst_does_not_starve_another_owner(tmp_path):
    with service_on("embedded", tmp_path) as service:
        burst_key, late_key = new_key(service), new_key(service)
        with service.client(burst_key) as burst, service.client(late_key) as late:
            burst_ids = [submit(burst, training_spec("burst")) for _ in range(12)]
            with session_scope(sessions := sessions_of(service.env)) as session:
                waiting = set(session.scalars(select(Job.id).where(Job.id.in_(burst_ids), Job.dispatched_at.is_(None))))
            late_id = submit(late, training_spec("late"))
            until(lambda: all_finished(sessions, [*burst_ids, late_id]), "end of every job", timeout=600)
    rows = {job.id: job for job in jobs(sessions, [*burst_ids, late_id])}
    assert len(waiting) >= 12 - 4 - 2  # only the owner's share went to the broker (4, with 2 workers soon running)
    assert all(rows[job_id].started_at > rows[late_id].started_at for job_id in waiting)
