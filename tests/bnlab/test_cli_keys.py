"""`bnlab migrate` and `bnlab keys`: a key is printed once, stored as a hash, listed without it, revocable."""

import sqlite3
import uuid

import pytest

from tests.bnlab.conftest import bnlab


def tables(tmp_path) -> set[str]:
    """The tables of the embedded database."""
    with sqlite3.connect(tmp_path / "data" / "bnlab.sqlite") as database:
        return {row[0] for row in database.execute("select name from sqlite_master where type = 'table'")}


@pytest.fixture
def migrated(env) -> None:
    """The key commands need a database at the newest schema, made by `bnlab migrate`."""
    assert bnlab("migrate", env=env).returncode == 0


def test_migrate_creates_the_embedded_database(env, tmp_path):
    result = bnlab("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert {"api_keys", "jobs", "metric_points", "alembic_version"} <= tables(tmp_path)


def test_key_is_shown_once_and_only_its_hash_is_stored(env, tmp_path, migrated):
    created = bnlab("keys", "create", "--name", "alice", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("bnl_") and len(key) > 40
    assert "cannot be shown again" in created.stderr
    listing = bnlab("keys", "list", env=env).stdout
    assert "alice" in listing and key[:12] in listing and key not in listing
    database = (tmp_path / "data" / "bnlab.sqlite").read_bytes()
    assert key.encode() not in database


def test_revoke_marks_the_key_and_rejects_bad_ids(env, migrated):
    bnlab("keys", "create", "--name", "bob", env=env)
    key_id = bnlab("keys", "list", env=env).stdout.splitlines()[1].split()[0]
    assert bnlab("keys", "revoke", key_id, env=env).returncode == 0
    assert "revoked" in bnlab("keys", "list", env=env).stdout.splitlines()[1]
    bad = bnlab("keys", "revoke", "not-an-id", env=env)
    assert bad.returncode != 0 and "bnlab keys list" in bad.stderr
    missing = bnlab("keys", "revoke", "00000000-0000-0000-0000-000000000000", env=env)
    assert missing.returncode != 0 and "no key" in missing.stderr


def test_key_commands_never_migrate_a_database(env, tmp_path):
    for command in (["keys", "create", "--name", "carol"], ["keys", "list"], ["keys", "revoke", str(uuid.uuid4())]):
        refused = bnlab(*command, env=env)
        assert refused.returncode != 0 and "run `bnlab migrate` first" in refused.stderr, command
    assert not (tmp_path / "data" / "bnlab.sqlite").exists() or tables(tmp_path) == set()


def test_migrate_prints_the_database_without_its_password(env):
    result = bnlab("migrate", env={**env, "BNLAB_DATABASE_URL": "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"})
    assert result.returncode != 0 and "s3cret" not in result.stdout + result.stderr
    assert "cannot reach the database postgresql+psycopg://u:***@127.0.0.1:1/x" in result.stderr
