"""Timestamps are aware UTC datetimes on every backend (SQLite alone would hand back naive ones)."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The one clock the store uses, so that leases and cursors compare like with like."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC (SQLite keeps no offset, so a non-UTC value would compare wrongly) and reads back aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """Its values are datetimes (TypeDecorator would say `object`), as a cursor's reader needs to know."""
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values: their zone is a guess, and a wrong guess moves a lease by hours."""
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware one (store.timestamps.utcnow())")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """SQLite returns naive UTC and PostgreSQL the session's zone: both become aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
