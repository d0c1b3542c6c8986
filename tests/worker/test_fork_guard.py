"""A child forked while another thread of its parent writes SQLite finds the file locked for good; the guard makes
the fork wait for the writes to end."""

import os
import sqlite3
import threading

from sqlalchemy import text

from store import make_engine, make_session_factory, session_scope
from worker.fork_guard import hold_forks_during_writes, writing

HOLD_S = 2  # how long the writer keeps its transaction open unless it sees the fork happen first


def child_can_write(path: str) -> bool:
    """In a forked child: whether a new connection of its own can take the write lock."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=1)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t VALUES (2)")
        connection.execute("COMMIT")
        return True
    except sqlite3.OperationalError:
        return False


def test_a_fork_waits_for_the_write_under_way_and_its_child_can_write(tmp_path):
    path = str(tmp_path / "guarded.sqlite")
    factory = make_session_factory(make_engine(f"sqlite:///{path}"))
    with session_scope(factory) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    hold_forks_during_writes()
    in_transaction, forked = threading.Event(), threading.Event()
    os.register_at_fork(after_in_parent=forked.set)

    def write_until_forked() -> None:
        with writing(), session_scope(factory) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            in_transaction.set()
            forked.wait(HOLD_S)  # unguarded, the fork below would happen now, inside this transaction

    writer = threading.Thread(target=write_until_forked)
    writer.start()
    in_transaction.wait()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if child_can_write(path) else 1)
    writer.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child found the database locked"
