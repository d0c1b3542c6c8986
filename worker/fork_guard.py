"""The worker's main process never forks a pool child while its sweep writes: SQLite keeps its lock state in the
process, a forked child inherits that state, and a child forked mid-write finds the file locked for good (it could
never claim a job). The sweep is the only thread there that writes, so it alone takes the guard.
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

_sweep_writing = threading.Lock()


@cache
def hold_forks_during_writes() -> None:
    """From now on a fork in this process waits for the running stretch of `writing` to end (once: the hooks
    stay registered for the life of the process)."""
    os.register_at_fork(
        before=_sweep_writing.acquire,
        after_in_parent=_sweep_writing.release,
        after_in_child=_sweep_writing.release,
    )


@contextmanager
def writing() -> Iterator[None]:
    """A stretch of database and broker writes during which no fork may happen."""
    with _sweep_writing:
        yield
