"""Engines and the session scopes: SQLite tuned for several processes, readers that take no write lock, commits only
at the edge, one engine per URL whose pool fits its largest caller."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, insert, make_url, select, text
from sqlalchemy.orm import Session

from store import (
    ApiKey,
    ApiKeyRepository,
    SessionFactory,
    get_engine,
    make_engine,
    make_session_factory,
    read_scope,
    session_scope,
)
from store.timestamps import utcnow

SQLITE_PRAGMAS = ("foreign_keys", "journal_mode", "busy_timeout")


def test_sqlite_connections_enforce_foreign_keys_use_wal_and_wait_for_locks(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'not' / 'yet' / 'there.sqlite'}")
    with engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE_PRAGMAS}
    engine.dispose()
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 15_000}


def test_one_engine_per_process_and_url(database_url: str):
    assert get_engine(database_url) is get_engine(database_url)
    get_engine(database_url).dispose()


def keys(session: Session) -> int:
    """How many API keys the test's transaction holds."""
    return session.scalar(select(func.count()).select_from(ApiKey))


def test_session_scope_commits_a_block_that_succeeds(factory: SessionFactory, session: Session):
    with session_scope(factory) as scoped:
        ApiKeyRepository(scoped).create("ci")
    assert keys(session) == 1


def test_session_scope_rolls_back_a_block_that_raises(factory: SessionFactory, session: Session):
    with pytest.raises(RuntimeError), session_scope(factory) as scoped:
        ApiKeyRepository(scoped).create("ci")
        raise RuntimeError("the request failed after the repository flushed")
    assert keys(session) == 0


def _write_lock_is_free(path: Path) -> bool:
    """Whether another connection could start writing right now (it does not wait: timeout 0)."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        probe.close()
    return True


@pytest.mark.parametrize(("scope", "locks"), [(session_scope, True), (read_scope, False)], ids=["write", "read"])
def test_on_sqlite_only_a_unit_of_work_that_may_write_takes_the_write_lock(tmp_path: Path, scope, locks: bool):
    path = tmp_path / "locks.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with scope(make_session_factory(engine)) as session:
        session.execute(select(1))
        free_meanwhile = _write_lock_is_free(path)
    engine.dispose()
    assert free_meanwhile is not locks and _write_lock_is_free(path)


def test_a_read_scope_reads_while_another_connection_writes(database_url: str):
    engine = make_engine(database_url)
    with engine.connect() as writer, writer.begin():
        writer.execute(
            insert(ApiKey).values(owner="w", name="w", prefix="bnl_w", key_hash="w" * 64, created_at=utcnow())
        )
        with read_scope(make_session_factory(get_engine(database_url))) as session:
            assert session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.owner == "w")) == 0
    engine.dispose()


def test_the_engine_of_a_url_grows_its_pool_for_a_caller_that_needs_more(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'pool.sqlite'}"
    small = get_engine(url, pool_size=2)
    with small.connect() as connection:
        connection.exec_driver_sql("SELECT 1")

    grown = get_engine(url, pool_size=40)

    assert grown is small and grown.pool.size() == 40
    assert get_engine(url, pool_size=3).pool.size() == 40  # never shrinks under a caller that sized it
    with grown.connect() as connection:  # the new pool's connections are configured like the old ones'
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    grown.dispose()


def transaction_status(session: Session) -> str:
    """Whether the session's PostgreSQL connection is inside a transaction after a statement: INTRANS or IDLE."""
    session.execute(select(func.count()).select_from(ApiKey))
    return session.connection().connection.driver_connection.info.transaction_status.name


def test_a_read_scope_on_postgresql_runs_outside_a_transaction_and_gives_its_connection_back_unchanged(
    database_url: str,
):
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite a read begins a deferred transaction, which takes no write lock (tested above)")
    url = make_url(database_url).update_query_dict({"application_name": "never-connected"})
    get_engine(url.render_as_string(hide_password=False), pool_size=1)
    engine = get_engine(url.render_as_string(hide_password=False), pool_size=2)  # grown before any connection
    factory = make_session_factory(engine)
    for _ in range(3):  # the pooled connections go back and forth between reads and writes
        with read_scope(factory) as session:
            assert transaction_status(session) == "IDLE"  # autocommit: no BEGIN, no COMMIT
        with session_scope(factory) as session:
            assert transaction_status(session) == "INTRANS"
    engine.dispose()


def test_postgresql_connections_do_not_jit_compile_queries(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no JIT")
    factory = make_session_factory(get_engine(database_url))
    for scope in (read_scope, session_scope):
        with scope(factory) as session:
            assert session.execute(text("SHOW jit")).scalar() == "off"
