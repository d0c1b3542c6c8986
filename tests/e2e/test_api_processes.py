"""`bnlab api --processes 2`: two API processes on the one port, both serving, stopped together by Ctrl-C."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from contracts.spec import CANONICAL_EXAMPLE
from tests.bnlab.conftest import BNLAB, bnlab
from tests.e2e.conftest import Service, wait_until_ready
from tests.net import free_port

pytestmark = pytest.mark.slow
STARTUP_S = 120


def api_processes(pid: int) -> list[int]:
    """The API processes that uvicorn's supervisor `pid` spawned (not multiprocessing's resource tracker)."""
    threads = Path(f"/proc/{pid}/task").glob("*/children")
    children = [int(child) for thread in threads for child in thread.read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def test_two_api_processes_share_the_port_and_stop_together(tmp_path: Path):
    env = {**os.environ, "BNLAB_DATA_DIR": str(tmp_path / "data")}
    env = {name: value for name, value in env.items() if name not in ("BNLAB_DATABASE_URL", "BNLAB_BROKER_URL")}
    assert bnlab("migrate", env=env).returncode == 0
    key = re.search(r"bnl_\S+", bnlab("keys", "create", "--name", "me", env=env).stdout).group(0)
    port = free_port()
    with (tmp_path / "api.log").open("w") as log:
        api = subprocess.Popen([BNLAB, "api", "--port", str(port), "--processes", "2"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)  # fmt: skip
    try:
        service = Service(f"http://127.0.0.1:{port}", key, env)
        deadline = time.monotonic() + STARTUP_S
        wait_until_ready(service.url, deadline)
        while len(api_processes(api.pid)) < 2:  # both have started: the supervisor starts them one after the other
            assert api.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.1)
        for _ in range(10):  # a new connection each time: the kernel spreads them over the processes
            with service.client() as client:
                assert client.post("/v1/jobs", json=CANONICAL_EXAMPLE).status_code == 201
        with service.client() as client:
            assert len(client.get("/v1/jobs").json()["items"]) == 10
        processes = api_processes(api.pid)
        api.send_signal(signal.SIGINT)
        assert api.wait(timeout=60) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in processes)
    finally:
        api.kill()
        api.wait()
