"""Real HTTP for the API tests: the app behind uvicorn on a free loopback port, in a thread or a process of its own."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
START_S = 30  # how long a server may take to answer its first /healthz
GRACE_S = 2  # uvicorn gives open streams this long at shutdown, then closes them
STOP_S = 20  # how long stopping may take in all


@contextmanager
def serving_in_thread(app: FastAPI) -> Iterator[str]:
    """`app` on uvicorn in a thread of this process (its own event loop); yields the base URL, stops it at the end."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", timeout_graceful_shutdown=GRACE_S
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(STOP_S)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def serving_in_process(settings: dict[str, str], log: Path) -> Iterator[str]:
    """`uvicorn --factory api.app:create_app` in a process of its own with these BNLAB_* settings (nothing else of
    this environment's BNLAB_*), its output in `log`; yields the base URL, stops the process at the end."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("BNLAB_")} | settings
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", str(GRACE_S)]  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_live(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_live(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll /healthz until the server answers (or fail with its output if it died or never answered)."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"the API never answered /healthz:\n{log.read_text()[-3000:]}")
