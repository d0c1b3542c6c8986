"""API keys: created with a plaintext shown once, stored as a SHA-256 hash, resolved to their owner."""

import hashlib
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import ApiKey
from store.timestamps import utcnow

KEY_PREFIX = "bnl_"
SHOWN_CHARS = 12  # "bnl_" and 8 random characters: enough to tell keys apart in a listing, useless to an attacker


def hash_key(plaintext: str) -> str:
    """Keys are long and random, so a plain SHA-256 suffices (no salt or stretching needed)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


class ApiKeyRepository:
    """The tenants' keys; a key's owner is the tenant every object it creates belongs to."""

    def __init__(self, session: Session):
        self.session = session

    def create(self, name: str, owner: str | None = None) -> tuple[ApiKey, str]:
        """A new key (for a new owner unless one is given) and its plaintext, which is not kept anywhere."""
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            owner=owner or str(uuid.uuid4()),
            name=name,
            prefix=plaintext[:SHOWN_CHARS],
            key_hash=hash_key(plaintext),
        )
        self.session.add(key)
        self.session.flush()
        return key, plaintext

    def authenticate(self, plaintext: str) -> str | None:
        """The owner of a valid, unrevoked key; None for anything else."""
        query = select(ApiKey.owner).where(ApiKey.key_hash == hash_key(plaintext), ApiKey.revoked_at.is_(None))
        return self.session.scalar(query)

    def revoke(self, key_id: uuid.UUID) -> ApiKey | None:
        """Stop accepting a key (it stays listed, marked revoked); None if there is no such key."""
        key = self.session.get(ApiKey, key_id)
        if key is not None and key.revoked_at is None:
            key.revoked_at = utcnow()
            self.session.flush()
        return key

    def list(self, owner: str | None = None) -> list[ApiKey]:
        """Keys of one owner, or of everyone (the operator's view), oldest first."""
        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if owner is not None:
            query = query.where(ApiKey.owner == owner)
        return list(self.session.scalars(query))
