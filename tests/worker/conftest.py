"""Real worker processes on both setups: embedded (SQLite file and SQLite broker) and PostgreSQL with Redis.

Jobs are created the way the API creates them (the row committed, then only the id sent to the broker), and the
tests watch the database, the source of truth, until the job has finished.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from celery import Celery
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from contracts.queues import queue_for
from contracts.settings import Settings
from contracts.spec import JobSpec
from dispatch.broker import enqueue, make_celery
from store import (
    FINISHED,
    Job,
    JobRepository,
    MetricRepository,
    SessionFactory,
    make_engine,
    make_session_factory,
    session_scope,
)
from store.migrate import upgrade
from tests.store.conftest import postgres_database
from tests.worker.engine.conftest import WALL_CLOCK, Collector
from worker.engine import train

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("BNLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")  # a db of its own, flushed
LEASE_S = 5  # the smallest allowed: a killed worker's job is re-queued within seconds
TIMEOUT_S = 60.0  # a worker's start (torch imported in its child) and a small job, with room to spare
SMALL = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [16, 16]},
    "training": {"steps": 200, "batch_size": 32, "eval_every": 50},
}

T = TypeVar("T")
# A dropped connection, its text full of what a job's owner must never see: SQL, parameters, a server's address.
BLIP = OperationalError(
    "SELECT jobs.id FROM jobs WHERE jobs.id = %(id)s",
    {"id": "00000000-0000-0000-0000-000000000000"},
    Exception("server closed the connection unexpectedly (postgresql://bnlab:secret@db.internal:5432/bnlab)"),
)


def small(**training: object) -> dict:
    """The small spirals job, with some training fields changed."""
    return {**SMALL, "training": {**SMALL["training"], **training}}


@dataclass
class Backend:
    """One setup: the settings a worker gets through BNLAB_* variables, and the test's own view of it."""

    settings: Settings
    factory: SessionFactory
    app: Celery

    def create(self, **spec: object) -> uuid.UUID:
        """A committed, queued job, not yet sent to the broker."""
        with session_scope(self.factory) as session:
            return JobRepository(session).create("tester", JobSpec.model_validate(spec)).id

    def submit(self, **spec: object) -> uuid.UUID:
        """As the API does it: the row committed first, then the id to the broker, on its device's queue (rule 1)."""
        job_id = self.create(**spec)
        enqueue(self.app, job_id, queue_for(JobSpec.model_validate(spec).training.device))
        return job_id

    def job(self, job_id: uuid.UUID) -> Job:
        """The job's row as it is now."""
        with session_scope(self.factory) as session:
            return session.get(Job, job_id)

    def points(self, job_id: uuid.UUID) -> dict[tuple[str, int], float]:
        """Every metric point of the job, by (name, step)."""
        with session_scope(self.factory) as session:
            series = MetricRepository(session).series(job_id)
        return {(name, step): value for name, points in series.items() for step, value in points}

    def until(self, check: Callable[[Session], T], what: str, timeout: float = TIMEOUT_S) -> T:
        """Poll the database until `check` gives something truthy; on timeout, fail showing the workers' logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session_scope(self.factory) as session:
                result = check(session)
            if result:
                return result
            time.sleep(0.05)
        pytest.fail(f"no {what} after {timeout} s; worker logs:\n{self.logs()}")

    def finished(self, job_id: uuid.UUID, timeout: float = TIMEOUT_S) -> Job:
        """Wait until the job has a final status."""

        def final(session: Session) -> Job | None:
            job = session.get(Job, job_id)
            return job if job.status in FINISHED else None

        return self.until(final, f"end of job {job_id}", timeout)

    def logs(self) -> str:
        """The end of every worker's log, for a failure message."""
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.log_dir.glob("*.log")))

    @property
    def log_dir(self) -> Path:
        """Next to the data, so a failing test can show every worker's log."""
        return self.settings.data_dir / "logs"


@pytest.fixture(scope="session", params=["embedded", "postgresql+redis"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A migrated, empty database and an empty broker of each setup in turn."""
    data_dir = tmp_path_factory.mktemp(request.param.replace("+", "-"))
    if request.param == "embedded":
        settings = Settings(data_dir=data_dir, lease_s=LEASE_S)
        upgrade(settings.resolved_database_url)
        yield from _open(settings)
        return
    with contextlib.contextmanager(postgres_database)() as database_url, _flushed_redis():
        yield from _open(Settings(data_dir=data_dir, lease_s=LEASE_S, database_url=database_url, broker_url=REDIS_URL))


@contextlib.contextmanager
def _flushed_redis() -> Iterator[None]:
    """The test's Redis db empty before and after (only that db, never the server's others)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (set BNLAB_TEST_REDIS_URL): {error}")
    try:
        yield
    finally:
        client.flushdb()
        client.close()


def _open(settings: Settings) -> Iterator[Backend]:
    """The test's engine and Celery app for `settings`, closed afterwards."""
    engine = make_engine(settings.resolved_database_url)
    app = make_celery(settings)
    try:
        yield Backend(settings, make_session_factory(engine), app)
    finally:
        app.close()
        engine.dispose()


class WorkerProcess:
    """`celery -A worker.celery_app worker` (prefork, one child) in a process group of its own.

    `data_dir` stands for another machine: a data dir of its own, the same database and broker; `env` adds to (or
    overrides) the environment the worker gets; `queues` are the queues it takes jobs from (contracts/queues.py).
    """

    def __init__(
        self,
        backend: Backend,
        name: str,
        data_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        queues: str = "cpu",
    ) -> None:
        backend.log_dir.mkdir(exist_ok=True)
        self.log_path = backend.log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--concurrency", "1",
            "--queues", queues, "--hostname", f"{self.log_path.stem}@%h", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        environment = _worker_env(backend.settings, data_dir) | dict(env or {})
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """Worker loss: SIGKILL to the main process and its pool child at once, nothing cleaned up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = TIMEOUT_S) -> int:
        """What `docker compose stop` does: SIGTERM to the main process only; its exit code once it has exited."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def log(self) -> str:
        """What the worker printed so far (its log lines included)."""
        return self.log_path.read_text()

    def pool_children(self) -> list[int]:
        """The pids of the pool's children, the processes that train (a respawned one is a child of another thread)."""
        threads = Path(f"/proc/{self.process.pid}/task").glob("*/children")
        return [int(pid) for children in threads for pid in children.read_text().split()]


def _worker_env(settings: Settings, data_dir: Path | None = None) -> dict[str, str]:
    """This environment without its BNLAB_* variables, plus those of `settings` (the URLs resolved, so that another
    data dir still reaches the same embedded database and broker)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BNLAB_")}
    return env | {
        "BNLAB_DATA_DIR": str(data_dir or settings.data_dir),
        "BNLAB_LEASE_S": str(settings.lease_s),
        "BNLAB_MAX_ATTEMPTS": str(settings.max_attempts),
        "BNLAB_DATABASE_URL": settings.resolved_database_url,
        "BNLAB_BROKER_URL": settings.resolved_broker_url,
    }


@contextlib.contextmanager
def running_worker(
    backend: Backend,
    name: str,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    queues: str = "cpu",
) -> Iterator[WorkerProcess]:
    """A worker process that is killed when the block ends, however it ends."""
    worker = WorkerProcess(backend, name, data_dir, env, queues)
    try:
        yield worker
    finally:
        worker.kill()


@pytest.fixture
def discard_unfinished(backend: Backend) -> Iterator[None]:
    """Jobs that an in-process test leaves queued or running are deleted after it, so that no worker of a later test
    picks them up when their lease runs out."""
    with session_scope(backend.factory) as session:
        before = set(session.scalars(select(Job.id)))
    yield
    with session_scope(backend.factory) as session:
        session.execute(delete(Job).where(Job.id.not_in(before), Job.status.not_in(FINISHED)))


def flaky(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, failures: float, error: Exception = BLIP) -> list:
    """`owner.name` raises `error` on its first `failures` calls (math.inf: on every call), then works; returns the
    calls made, so a test can see that the failed ones were tried again."""
    original, calls = getattr(owner, name), []

    def failing_at_first(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) <= failures:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing_at_first)
    return calls


def assert_as_if_never_interrupted(backend, job_id, spec: dict, tmp_path) -> None:
    """The job's stored points are those of the same spec trained in one go here: none missing, none twice."""
    reference = Collector()
    train(JobSpec.model_validate(spec), reference, tmp_path / "reference")
    resumed = {key: value for key, value in backend.points(job_id).items() if key[0] not in WALL_CLOCK}
    assert resumed == {(name, step): value for step, name, value in reference.deterministic()}
    assert len(reference.deterministic()) == len(resumed)
