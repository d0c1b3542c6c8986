"""Private Redis and PostgreSQL servers for the fault tests: started on free ports in a temporary folder, stopped
and restarted by the test, never the machine's shared servers.
"""

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import redis

from tests.net import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT_S = 60.0


def _wait(ready, what: str) -> None:
    """Poll `ready()` until it is true; fail naming `what` after START_TIMEOUT_S."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {START_TIMEOUT_S} s")


class PrivateRedis:
    """`redis-server` on a free port, with or without append-only persistence."""

    def __init__(self, folder: Path, persistent: bool) -> None:
        self.folder, self.persistent, self.port = folder, persistent, free_port()
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The broker URL workers and the API are given."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client of this server only."""
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        """Start (or start again, on the same port and files) and wait until it answers PING."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "yes"]
        command += ["--dir", str(self.folder), "--save", "", "--appendonly", "yes" if self.persistent else "no"]
        command += ["--logfile", str(self.folder / "redis.log"), "--pidfile", str(self.folder / "redis.pid")]
        subprocess.run(command, check=True, timeout=30)
        _wait(lambda: self.client().ping(), f"redis on port {self.port}")

    def stop(self) -> None:
        """Stop it; with persistence its append-only file keeps what was queued (SHUTDOWN writes no RDB: --save '')."""
        with contextlib.suppress(redis.ConnectionError):
            self.client().shutdown(nosave=not self.persistent)
        _wait(lambda: not Path(self.folder / "redis.pid").exists(), f"redis on port {self.port} to stop")

    def restart(self) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start()


class PrivatePostgres:
    """A cluster of its own (initdb in a temporary folder, run as the postgres user) on a free port.

    The folder is made directly under the system's temporary directory: pytest's folders are private to root,
    and the postgres user could not reach a cluster inside them.
    """

    def __init__(self) -> None:
        self.folder, self.port = Path(tempfile.mkdtemp(prefix="bnlab-pg-")), free_port()
        shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres")

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.folder / "data"

    @property
    def url(self) -> str:
        """The database bnlab uses, on this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: object) -> None:
        """PostgreSQL refuses to run as root."""
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, command)], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)  # fmt: skip

    def start(self) -> None:
        """Start (again) on the same port and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "log", "-w", "start")
        _wait(self._accepts, f"postgres on port {self.port}")

    def _accepts(self) -> bool:
        """Whether a connection succeeds."""
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=2):
            return True

    def stop(self) -> None:
        """Stop at once (clients are disconnected), as an outage would."""
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


@contextlib.contextmanager
def private_redis(folder: Path, persistent: bool) -> Iterator[PrivateRedis]:
    """A started private Redis, stopped at the end however the test ends."""
    server = PrivateRedis(folder, persistent)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private PostgreSQL cluster, stopped and removed at the end however the test ends."""
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)
