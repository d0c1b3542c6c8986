"""What `bnlab serve` makes sure of before it starts anything (and before it makes the first key, so that a start
that cannot succeed never swallows it): that it alone serves its data dir, and that its port is free."""

import fcntl
import os
import socket
import sys
from pathlib import Path
from typing import IO

LOCK_NAME = "serve.lock"


def hold_data_dir(data_dir: Path) -> IO[str]:
    """Take the data dir for this process (kept until it exits); a second serve on it ends with the first's pid."""
    lock = (data_dir / LOCK_NAME).open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        sys.exit(
            f"error: another bnlab serve (pid {holder}) already serves {data_dir.resolve()}; "
            "stop it, or give this one a data dir of its own (--data-dir)"
        )
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def ensure_port_free(host: str, port: int) -> None:
    """Bind the address as the API will (address reuse on, as uvicorn sets it); a taken one ends with a hint."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            sys.exit(f"error: cannot listen on {host}:{port} ({error.strerror}); pass a free one with --port")
