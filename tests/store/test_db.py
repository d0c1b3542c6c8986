"""Engines and the session scope: SQLite tuned for several processes, commits only at the edge."""

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import ApiKey, ApiKeyRepository, SessionFactory, get_engine, make_engine, session_scope

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
