"""INSERT .. ON CONFLICT DO UPDATE for SQLite and PostgreSQL: the same clause, each dialect's own construct."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Base

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def upsert(session: Session, model: type[Base], rows: list[dict[str, Any]], keys: list[str], update: list[str]) -> None:
    """Insert `rows` in one statement; a row whose `keys` exist already overwrites the `update` columns instead."""
    if not rows:
        return
    statement = _INSERTS[session.get_bind().dialect.name](model)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={column: statement.excluded[column] for column in update}
    )
    session.execute(statement, rows)
