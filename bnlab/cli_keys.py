"""`bnlab keys` and `bnlab migrate`: the operator's commands on the database (no torch, no server).

Only `bnlab migrate` (and `bnlab serve`, which runs it) changes the schema; the key commands refuse to touch a
database that is not at the newest revision, saying to migrate first.
"""

import sys
import uuid
from typing import Annotated

import typer

from contracts.settings import Settings

PANEL = "Operators (on the database)"

commands = typer.Typer()
keys_commands = typer.Typer(help="API keys: create (shown once), list, revoke.")
commands.add_typer(keys_commands, name="keys", rich_help_panel=PANEL)


def migrated_store(settings: Settings):
    """Migrate (idempotent) and return a session factory for the configured database."""
    from sqlalchemy.exc import OperationalError

    from store import sessions_for
    from store.migrate import upgrade

    try:
        upgrade(settings.resolved_database_url)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        sys.exit(f"error: cannot reach the database {settings.display_database_url}: {reason}")
    return sessions_for(settings.resolved_database_url)


def current_store(settings: Settings):
    """A session factory for the configured database, which must already be at the newest schema."""
    from store import sessions_for
    from store.migrate import SchemaNotCurrent, require_current

    try:
        require_current(settings.resolved_database_url)
    except SchemaNotCurrent as error:
        sys.exit(f"error: {error}: run `bnlab migrate` first")
    return sessions_for(settings.resolved_database_url)


@commands.command(rich_help_panel=PANEL)
def migrate() -> None:
    """Bring the configured database to the newest schema."""
    settings = Settings()
    migrated_store(settings)
    print(f"database at the newest schema: {settings.display_database_url}")


def create_key(factory, name: str, owner: str | None = None) -> str:
    """A new key's plaintext (it is shown once and never stored)."""
    from store import ApiKeyRepository, session_scope

    with session_scope(factory) as session:
        _, plaintext = ApiKeyRepository(session).create(name, owner)
    return plaintext


@keys_commands.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="what the key is for, shown in listings", show_default=False)],
    owner: Annotated[
        str | None, typer.Option(help="give the key to an existing owner (default: a new owner)", show_default=False)
    ] = None,
) -> None:
    """Create a key and print it once; only its hash is kept."""
    plaintext = create_key(current_store(Settings()), name, owner)
    print(plaintext)
    print("store it now: it cannot be shown again", file=sys.stderr)


@keys_commands.command("list")
def keys_list() -> None:
    """List every key with its owner and state; never the key itself."""
    from store import ApiKeyRepository, session_scope

    with session_scope(current_store(Settings())) as session:
        keys = ApiKeyRepository(session).list()
        print(f"{'id':<36}  {'prefix':<12}  {'name':<20}  {'owner':<36}  state")
        for key in keys:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            print(f"{key.id!s:<36}  {key.prefix:<12}  {key.name[:20]:<20}  {key.owner:<36}  {state}")


@keys_commands.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(metavar="ID", help="the key's id, from `bnlab keys list`", show_default=False)],
) -> None:
    """Revoke a key: it stops being accepted at once."""
    from store import ApiKeyRepository, session_scope

    try:
        key_id = uuid.UUID(key)
    except ValueError:
        sys.exit(f"error: {key!r} is not a key id; `bnlab keys list` shows them")
    with session_scope(current_store(Settings())) as session:
        if ApiKeyRepository(session).revoke(key_id) is None:
            sys.exit(f"error: no key with id {key_id}")
    print(f"revoked {key_id}")
