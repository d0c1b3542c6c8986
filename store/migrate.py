"""Bring a database to the newest schema: `alembic upgrade head`, callable from code (rule 9: never create_all)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def upgrade(url: str) -> None:
    """Apply every revision the database at `url` has not seen yet."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = url
    command.upgrade(config, "head")
