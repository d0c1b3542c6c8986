"""Engines and sessions: one engine per process and URL (rule 11), commits only at the edge (rule 3).

On SQLite a unit of work that writes takes the write lock when it begins (BEGIN IMMEDIATE), so that it
cannot fail half-way with "database is locked"; one that only reads (`read_scope`) begins a plain
transaction, which in WAL mode neither waits for a writer nor holds one up. On PostgreSQL a unit of work that
only reads runs in autocommit: the same snapshots as a READ COMMITTED transaction, two round trips fewer.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000
DEFAULT_POOL_SIZE = 5  # SQLAlchemy's own default: enough for a command or a worker process
READ_ONLY = "bnlab_read_only"  # the execution option that makes the "begin" listener start a plain transaction

SessionFactory = sessionmaker[Session]

_engines: dict[str, Engine] = {}


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """A new engine keeping up to `pool_size` connections: SQLite tuned for several processes on one file,
    PostgreSQL checking pooled connections."""
    if make_url(url).get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size)
        event.listen(engine, "connect", _configure_postgresql)
        return engine
    ensure_sqlite_dir(url)
    engine = create_engine(url, pool_size=pool_size)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin)
    return engine


def _configure_postgresql(dbapi_connection, _record) -> None:
    """No JIT compilation: bnlab's queries take milliseconds, and where the planner overestimated one (the
    downsampled read of one job's series among many jobs' points) it compiled it: that read took 294-372 ms in the
    service benchmark with JIT on and 54-61 ms with it off."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def ensure_sqlite_dir(url: str) -> None:
    """SQLite creates the file but not its folder, and the default file lives in a data dir that may not exist."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(dbapi_connection, _record) -> None:
    """Enforce foreign keys (cascades), let readers and a writer overlap (WAL), wait for locks instead of failing."""
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _begin)
    for pragma in (f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}", "foreign_keys = ON", "journal_mode = WAL"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _begin(connection: Connection) -> None:
    """Writers take the write lock up front (a read-then-write transaction cannot then fail with 'database is
    locked'); readers begin deferred, so that they never wait for a writer nor block one."""
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def get_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """The process's engine for `url`, created on first use and shared afterwards, with room for `pool_size`
    connections at once (a caller that needs more room, such as the API sizing it to its threads, grows it)."""
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url, pool_size)
    elif engine.pool.size() < pool_size:
        _grow_pool(engine, make_engine(url, pool_size))
    return engine


def _grow_pool(engine: Engine, larger: Engine) -> None:
    """Give `engine` the pool of `larger` (as Engine.dispose swaps in a fresh pool): still one engine for the URL,
    its idle connections closed, the ones in use returned to the old pool and closed with it.

    The dialect goes with the pool: the pool's first connection initializes `larger`'s dialect (server version,
    default isolation level), which `engine`'s own would otherwise never see if it had not connected yet.
    """
    old, engine.pool, engine.dialect = engine.pool, larger.pool, larger.dialect
    old.dispose()


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


@contextmanager
def read_scope(factory: SessionFactory) -> Iterator[Session]:
    """A unit of work that only reads: on SQLite a plain (deferred) transaction, which takes no write lock; on
    PostgreSQL no transaction at all (autocommit), since at READ COMMITTED each statement reads its own snapshot
    anyway, and BEGIN and COMMIT would be two more round trips to the server."""
    with factory(execution_options={READ_ONLY: True}) as session, session.begin():
        if isinstance(session.bind, Engine) and session.bind.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


def sessions_for(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> SessionFactory:
    """Sessions on this process's one engine for `url` (rule 11: created on first use, so after any fork)."""
    return make_session_factory(get_engine(url, pool_size))
