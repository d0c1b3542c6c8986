"""A real `bnlab serve` (API + Celery worker processes) on a free port, embedded or on PostgreSQL + Redis."""

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.bnlab.conftest import BNLAB
from tests.net import free_port
from tests.store.conftest import postgres_database

REDIS_TEST_DB = "redis://127.0.0.1:6379/13"


@dataclass
class Service:
    """A running service: its base URL, the first key it printed, and the environment its commands use."""

    url: str
    key: str
    env: dict[str, str]

    def client(self, key: str | None = None) -> httpx.Client:
        """An HTTP client authenticated with `key` (default: the first key)."""
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def backend_env(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """BNLAB_* variables for the embedded default or for PostgreSQL + Redis (fresh database, own Redis db)."""
    env = {**os.environ, "BNLAB_DATA_DIR": str(tmp_path / "data"), "BNLAB_LEASE_S": "30"}
    for name in ("BNLAB_DATABASE_URL", "BNLAB_BROKER_URL"):
        env.pop(name, None)
    if kind == "embedded":
        yield env
        return
    broker = redis.Redis.from_url(REDIS_TEST_DB)
    broker.flushdb()
    for database_url in postgres_database():
        yield {**env, "BNLAB_DATABASE_URL": database_url, "BNLAB_BROKER_URL": REDIS_TEST_DB}
    broker.flushdb()


FIRST_KEY = r"first API key \(shown once\): (bnl_\S+)"
UP = r"open     (http://\S+)"  # the line `bnlab serve` prints once the API listens


def wait_for_line(log: Path, process: subprocess.Popen, deadline: float, pattern: str) -> str:
    """The first group of `pattern` once `bnlab serve` has printed it (its output goes to a file, never a full pipe)."""
    while time.monotonic() < deadline and process.poll() is None:
        found = re.search(pattern, log.read_text())
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"bnlab serve printed no {pattern!r}:\n{log.read_text()[-3000:]}")


def wait_until_ready(url: str, deadline: float) -> None:
    """Poll /readyz until the database and the broker answer."""
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never became ready")


@contextlib.contextmanager
def serving(env: dict[str, str], folder: Path, workers: int = 2, key_expected: bool = True) -> Iterator[Service]:
    """`bnlab serve --workers N` as a new user runs it, its output in folder/serve.log; stopped (with its workers).

    On a database that has keys already (`key_expected=False`), it prints none: the service's key is then empty.
    """
    port, log = free_port(), folder / "serve.log"
    with log.open("w") as output:
        command = [BNLAB, "serve", "--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        key = wait_for_line(log, process, deadline, FIRST_KEY) if key_expected else ""
        wait_for_line(log, process, deadline, UP)
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, deadline)
        yield Service(url, key, env)
    finally:
        stop_service(process)


@contextlib.contextmanager
def embedded_service(folder: Path, workers: int = 1, key_expected: bool = True) -> Iterator[Service]:
    """`bnlab serve` on the embedded default, its data and log in `folder`."""
    for env in backend_env("embedded", folder):
        with serving(env, folder, workers, key_expected) as running:
            yield running


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service on each setup in turn."""
    tmp_path = tmp_path_factory.mktemp(request.param.replace("+", "-"))
    for env in backend_env(request.param, tmp_path):
        with serving(env, tmp_path) as service:
            yield service


def stop_service(process: subprocess.Popen) -> None:
    """SIGTERM as an operator would; `bnlab serve` must stop its workers itself, and a test says so."""
    process.terminate()
    try:
        process.wait(timeout=40)
    finally:
        leftovers = _group_alive(process.pid)
        if leftovers:
            os.killpg(process.pid, signal.SIGKILL)
    assert not leftovers, "bnlab serve exited but left worker processes running"


def _group_alive(group: int) -> bool:
    """Whether any process of the service's process group is still running."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
