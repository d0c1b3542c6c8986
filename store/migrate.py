"""Bring a database to the newest schema: `alembic upgrade head`, callable from code (rule 9: never create_all)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.db import get_engine

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


class SchemaNotCurrent(Exception):
    """The database is older than this code (or empty): an operator runs `bnlab migrate` first."""


def _config(url: str) -> Config:
    """Alembic's configuration with the URL given in code."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = url
    return config


def upgrade(url: str) -> None:
    """Apply every revision the database at `url` has not seen yet."""
    command.upgrade(_config(url), "head")


def require_current(url: str) -> None:
    """Raise SchemaNotCurrent unless the database is at the newest revision; never changes the database."""
    heads = set(ScriptDirectory.from_config(_config(url)).get_heads())
    with get_engine(url).connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        found = ", ".join(sorted(current)) or "no schema"
        raise SchemaNotCurrent(f"the database has {found}, this bnlab needs {', '.join(sorted(heads))}")
