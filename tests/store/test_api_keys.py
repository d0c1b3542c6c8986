"""API keys: the plaintext is shown once and never stored; a key resolves to its owner until revoked."""

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import ApiKey, ApiKeyRepository


def test_the_plaintext_is_returned_once_and_only_its_hash_is_stored(session: Session):
    key, plaintext = ApiKeyRepository(session).create("laptop")
    assert plaintext.startswith("bnl_") and len(plaintext) > 40
    row = session.execute(select(ApiKey.__table__).where(ApiKey.id == key.id)).one()
    assert not any(plaintext in str(value) for value in row)
    assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert row.prefix == plaintext[:12] and row.name == "laptop" and row.revoked_at is None


def test_authenticate_resolves_a_key_to_its_owner(session: Session):
    keys = ApiKeyRepository(session)
    key, plaintext = keys.create("laptop")
    assert keys.authenticate(plaintext) == key.owner
    assert keys.authenticate(plaintext + "x") is None
    assert keys.authenticate("") is None


def test_revoked_keys_no_longer_authenticate(session: Session):
    keys = ApiKeyRepository(session)
    key, plaintext = keys.create("laptop")
    _, other_plaintext = keys.create("ci", owner=key.owner)
    assert keys.revoke(key.id).revoked_at is not None
    assert keys.authenticate(plaintext) is None
    assert keys.authenticate(other_plaintext) == key.owner
    assert keys.revoke(uuid.uuid4()) is None


def test_new_keys_get_new_owners_unless_one_is_given(session: Session):
    keys = ApiKeyRepository(session)
    first, _ = keys.create("a")
    second, _ = keys.create("b")
    third, _ = keys.create("c", owner=first.owner)
    assert first.owner != second.owner and third.owner == first.owner
    assert [key.name for key in keys.list(first.owner)] == ["a", "c"]
    assert {key.id for key in keys.list()} >= {first.id, second.id, third.id}
