"""Engines and sessions: one engine per process and URL (rule 11), commits only at the edge (rule 3)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000

SessionFactory = sessionmaker[Session]

_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    """A new engine: SQLite tuned for several processes on one file, PostgreSQL checking pooled connections."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    ensure_sqlite_dir(url)
    engine = create_engine(url)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def ensure_sqlite_dir(url: str) -> None:
    """SQLite creates the file but not its folder, and the default file lives in a data dir that may not exist."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(dbapi_connection, _record) -> None:
    """Enforce foreign keys (cascades), let readers and a writer overlap (WAL), wait for locks instead of failing."""
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _begin_immediate)
    for pragma in (f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}", "foreign_keys = ON", "journal_mode = WAL"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _begin_immediate(connection: Connection) -> None:
    """Take the write lock up front: a read-then-write transaction cannot then fail with 'database is locked'."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str) -> Engine:
    """The process's engine for `url`, created on first use and shared afterwards."""
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def _forget_inherited_connections() -> None:
    """A forked child must not reuse its parent's pooled connections (the parent still owns them)."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def make_session_factory(engine: Engine) -> SessionFactory:
    """Sessions whose objects stay readable after commit, so a route can return what it just committed."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """The edge of a unit of work: commit if the block succeeds, roll back if it raises."""
    with factory() as session, session.begin():
        yield session


def sessions_for(url: str) -> SessionFactory:
    """Sessions on this process's one engine for `url` (rule 11: created on first use, so after any fork)."""
    return make_session_factory(get_engine(url))
