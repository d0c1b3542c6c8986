"""The servers benchmarks/service_speed.py measures: real processes, on databases it makes and drops itself.

bnlab's API (`bnlab api`) and workers (`bnlab worker`) on a PostgreSQL database and a Redis db of their own;
MLflow's tracking server (`mlflow server`) from a venv of its own (.venv-mlflow, made on first use: MLflow's pins
conflict with bnlab's) on another database of the same PostgreSQL. Each process runs in a process group of its own,
so that stopping it also stops the children it started (Celery's pool, uvicorn's workers).
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import redis
from sqlalchemy import URL, create_engine, make_url

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VENV = ROOT / ".venv-mlflow"
MLFLOW_REQUIREMENTS = ["mlflow==3.17.2", "psycopg2-binary"]  # 3.18.0's mlflow-tracing is not on the index yet
START_TIMEOUT_S = 180  # MLflow migrates its new database on its first start
STOP_TIMEOUT_S = 15
BIN = Path(sys.executable).parent


def mlflow_python() -> str:
    """.venv-mlflow's Python, the venv made and MLflow installed into it the first time (a few minutes)."""
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        print(f"making {MLFLOW_VENV} ({' '.join(MLFLOW_REQUIREMENTS)}): once, a few minutes", file=sys.stderr)
        subprocess.run(["python3", "-m", "venv", str(MLFLOW_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *MLFLOW_REQUIREMENTS], check=True)
    return str(python)


def with_driver(url: URL, driver: str) -> str:
    """`url` for another DBAPI: bnlab speaks psycopg 3 (postgresql+psycopg), MLflow psycopg2 (postgresql+psycopg2)."""
    return url.set(drivername=driver).render_as_string(hide_password=False)


@contextmanager
def fresh_database(admin_url: str, prefix: str) -> Iterator[URL]:
    """A new database on the admin URL's server, yielded as its URL and dropped at the end, whatever happens."""
    admin = create_engine(with_driver(make_url(admin_url), "postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield admin.url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def vacuum_analyze(url: URL) -> None:
    """What autovacuum does soon after a bulk load (since PostgreSQL 13 it vacuums tables that only grew, too):
    fresh planner statistics and a visibility map that lets index-only scans skip the heap, both sides alike."""
    engine = create_engine(with_driver(url, "postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


@contextmanager
def own_redis_db(url: str) -> Iterator[str]:
    """A Redis db number nobody else uses (refused if it holds keys), emptied at the end: the broker's queue."""
    client = redis.Redis.from_url(url)
    if client.dbsize():
        raise SystemExit(f"{url} holds keys already: pick an empty db number with --redis")
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool]) -> Iterator[None]:
    """`command` as a process group of its own (output to `log`), yielded once `ready()`, stopped at the end."""
    with log.open("a") as output:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until(ready, process, log)
        yield
    finally:
        stop(process)


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, log: Path) -> None:
    """Poll `ready` until it holds; the process exiting, or START_TIMEOUT_S passing, fails with its log's tail."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-2000:]
            raise RuntimeError(f"{' '.join(process.args[:3])} did not start (exit {process.poll()}):\n{tail}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the group (a warm shutdown), SIGKILL to what is left after STOP_TIMEOUT_S."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def answers_http(url: str) -> Callable[[], bool]:
    """Whether `url` answers 200 now."""

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def logged(log: Path, text: str, after: int = 0) -> Callable[[], bool]:
    """Whether `text` appeared in `log` past its first `after` characters (a Celery worker's "ready.")."""
    return lambda: log.exists() and text in log.read_text()[after:]


def bnlab_api(port: int, env: dict[str, str], log: Path, processes: int = 1):
    """`bnlab api` on `port` in `processes` processes, ready once /healthz answers."""
    command = [str(BIN / "bnlab"), "api", "--port", str(port), "--processes", str(processes)]
    return running(command, env, log, answers_http(f"http://127.0.0.1:{port}/healthz"))


def bnlab_worker(env: dict[str, str], log: Path):
    """`bnlab worker` (one job at a time), ready once Celery says so."""
    after = log.stat().st_size if log.exists() else 0
    return running([str(BIN / "bnlab"), "worker"], env, log, logged(log, " ready.", after))


def mlflow_server(database: URL, artifacts: Path, port: int, workers: int, log: Path):
    """MLflow's tracking server on `database`, artifacts proxied into `artifacts`, ready once /health answers."""
    command = [
        str(MLFLOW_VENV / "bin" / "mlflow"), "server",
        "--backend-store-uri", with_driver(database, "postgresql+psycopg2"),
        "--artifacts-destination", artifacts.as_uri(),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    return running(command, {}, log, answers_http(f"http://127.0.0.1:{port}/health"))
