"""`bnlab serve`, `bnlab api`, `bnlab worker`: the service's processes, from one command or one by one."""

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from bnlab.cli_keys import create_key, migrated_store
from bnlab.serve_checks import ensure_port_free, hold_data_dir
from contracts.queues import DEFAULT_QUEUE, QUEUES
from contracts.settings import Settings

STOP_WAIT_S = 10
PANEL = "Service"

commands = typer.Typer()

DataDir = Annotated[Path | None, typer.Option(help="overrides BNLAB_DATA_DIR", show_default=False)]
Host = Annotated[str, typer.Option(help="interface the API listens on")]
Port = Annotated[int, typer.Option(help="port the API listens on", min=1, max=65535)]
Workers = Annotated[int, typer.Option(help="jobs trained at the same time", min=1)]


def checked_queues(value: str) -> str:
    """`cpu`, `cuda` or both, comma-separated: the devices whose jobs this worker takes."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown or not names:
        raise typer.BadParameter(f"{', '.join(unknown) or 'nothing'}: give {' or '.join(QUEUES)}, comma-separated")
    return ",".join(dict.fromkeys(names))


Queues = Annotated[
    str,
    typer.Option(
        help="the jobs this worker takes, by the device they need: cpu (training.device cpu and auto), "
        "cuda (on a machine with a GPU), or cpu,cuda",
        callback=checked_queues,
    ),
]
Processes = Annotated[
    int,
    typer.Option(
        help="API processes on the one port (each opens up to BNLAB_API_THREADS + 4 database connections)", min=1
    ),
]


def worker_command(concurrency: int, queues: str = DEFAULT_QUEUE) -> list[str]:
    """A real Celery worker process taking jobs from `queues`; its prefork children train one job at a time each."""
    return [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--queues", queues,
        "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def run_api(host: str, port: int, when_up: Callable[[], None] = lambda: None) -> None:
    """Serve the HTTP API in this process until interrupted; `when_up` runs once it really listens."""
    from bnlab.api_server import serve_api

    serve_api(host, port, when_up)


def announce_first_key(factory) -> None:
    """On a database without keys, create one and print it (once): only after the server is up, so a start that
    failed never makes a key nobody saw."""
    from store import ApiKeyRepository, session_scope

    with session_scope(factory) as session:
        if ApiKeyRepository(session).list():
            return
    print(f"first API key (shown once): {create_key(factory, 'first key (bnlab serve)')}", flush=True)


def apply_data_dir(data_dir: Path | None) -> Settings:
    """--data-dir wins over BNLAB_DATA_DIR, for this process and the workers it starts."""
    if data_dir is not None:
        os.environ["BNLAB_DATA_DIR"] = str(data_dir)
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


@commands.command(rich_help_panel=PANEL)
def serve(
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Workers = 1,
    queues: Queues = DEFAULT_QUEUE,
) -> None:
    """API and workers in one command, embedded by default (no servers needed).

    Migrates, starts the workers, serves the API and, once it listens, prints a first key if there is none.
    """
    settings = apply_data_dir(data_dir)
    _held = hold_data_dir(settings.data_dir)  # a local: held while this serve runs
    ensure_port_free(host, port)
    factory = migrated_store(settings)
    print(f"database {settings.display_database_url}\nbroker   {settings.display_broker_url}", flush=True)
    pool = subprocess.Popen(worker_command(workers, queues))
    # uvicorn re-raises the SIGTERM it caught once it has shut down; exiting through SystemExit
    # instead of dying by the signal lets the `finally` below stop the workers (no orphans).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_api(host, port, lambda: up(factory, host, port))
    finally:
        stop(pool)


def up(factory, host: str, port: int) -> None:
    """What `bnlab serve` says once the API listens: the first key (on a new database) and where to go."""
    announce_first_key(factory)
    print(f"open     http://{host}:{port}/ (the dashboard; API docs at /docs)", flush=True)


def stop(workers: subprocess.Popen) -> None:
    """Warm shutdown first: running jobs are handed back at their next step (worker/hand_back.py); workers still
    there after STOP_WAIT_S are killed, and their jobs wait for their lease."""
    workers.terminate()
    try:
        workers.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        workers.kill()
        workers.wait()


@commands.command(rich_help_panel=PANEL)
def api(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000, processes: Processes = 1) -> None:
    """The HTTP API alone (run `bnlab migrate` first when deploying)."""
    apply_data_dir(data_dir)
    if processes == 1:
        run_api(host, port)
        return
    from bnlab.api_server import serve_api_processes

    serve_api_processes(host, port, processes)


@commands.command(rich_help_panel=PANEL)
def worker(data_dir: DataDir = None, workers: Workers = 1, queues: Queues = DEFAULT_QUEUE) -> None:
    """A Celery worker alone: this process becomes Celery's."""
    apply_data_dir(data_dir)
    command = worker_command(workers, queues)
    os.execv(command[0], command)
