"""Reads never wait for a writer: while another connection holds an open write transaction, every read-only
route answers (on SQLite the old code began every transaction with BEGIN IMMEDIATE, so reads queued behind it)."""

import secrets
from uuid import UUID

import pytest
from sqlalchemy import insert, update

from store import ApiKey, Job, MetricRepository, make_engine, session_scope
from store.timestamps import utcnow


@pytest.fixture
def write_lock(database_url: str):
    """A function that opens, on a connection of its own, a write transaction holding an uncommitted INSERT and
    an uncommitted UPDATE of `job_id`, until the test ends (then it is rolled back)."""
    engine = make_engine(database_url)  # BEGIN IMMEDIATE on SQLite, like every writer
    holding: list = []

    def hold(job_id: UUID) -> None:
        connection = engine.connect()
        transaction = connection.begin()
        key = {"owner": "lock-holder", "name": "lock", "prefix": "bnl_lock", "key_hash": secrets.token_hex(32)}
        connection.execute(insert(ApiKey).values(**key, created_at=utcnow()))
        connection.execute(update(Job).where(Job.id == job_id).values(progress=0.5))
        holding.append((connection, transaction))

    yield hold
    for connection, transaction in holding:
        transaction.rollback()
        connection.close()
    engine.dispose()


def test_reads_complete_while_a_write_transaction_is_open(client, alice, submit, sessions, write_lock, operator):
    first, second = submit(), submit()
    with session_scope(sessions) as session:
        MetricRepository(session).upsert(UUID(first["id"]), [("train_loss", 0, 1.0)])
    client.post(f"/v1/jobs/{first['id']}/cancel", headers=alice)  # finished: its event stream ends on its own
    write_lock(UUID(first["id"]))

    answers = {
        "list": client.get("/v1/jobs", headers=alice),
        "get": client.get(f"/v1/jobs/{first['id']}", headers=alice),
        "metrics": client.get(f"/v1/jobs/{first['id']}/metrics", headers=alice),
        "events": client.get(f"/v1/jobs/{first['id']}/events", headers=alice),
        "compare": client.get(f"/v1/compare?ids={first['id']},{second['id']}", headers=alice),
        "readyz": client.get("/readyz"),
        "prometheus": client.get("/metrics", headers=operator),
    }

    assert {name: response.status_code for name, response in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["get"].json()["progress"] == 0  # the uncommitted write is not seen
    assert [job["id"] for job in answers["list"].json()["items"]] == [second["id"], first["id"]]
