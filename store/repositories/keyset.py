"""Keyset pagination, the one place for it: listings ordered by one column, ties broken by the id in the same
direction, and the opaque cursor that says where the next page starts.

A cursor is urlsafe base64 of the JSON `[sort, value, id]`: the order it was made for, the last row's value
in that order and its id. Finding the next page is then an index range, as fast on the hundredth page as on
the first, and a row added or deleted meanwhile never makes a page repeat or skip another.
"""

import base64
import json
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from store.errors import InvalidCursor

MAX_INTEGER = 2**31 - 1  # the integer sort columns (batch_size, seed) are 32-bit INTEGER on PostgreSQL
# The longest cursor: base64 of a sort, a job's name (200 characters, up to 800 bytes of UTF-8) and an id.
MAX_CURSOR_LENGTH = 1200


class Page(NamedTuple):
    """The rows of one page and the cursor of the next (None on the last page)."""

    rows: list[Any]
    next_cursor: str | None


class Order(NamedTuple):
    """A listing's order as clients name it (`lr` ascending, `-created_at` descending), resolved to columns."""

    sort: str
    key: InstrumentedAttribute
    id: InstrumentedAttribute

    @property
    def descending(self) -> bool:
        """A leading `-` reverses the order, of the key and of the id that breaks its ties."""
        return self.sort.startswith("-")


def sorts(*keys: str) -> tuple[str, ...]:
    """Every sort a listing accepts: each key ascending, and descending after it."""
    return tuple(sort for key in keys for sort in (key, f"-{key}"))


def order_of(model: type, sort: str) -> Order:
    """The order `sort` names on `model` (whose caller has checked that the key is one it offers)."""
    return Order(sort, getattr(model, sort.removeprefix("-")), model.id)


def paginate(session: Session, query: Select, order: Order, limit: int, cursor: str | None) -> Page:
    """The page of `query` in `order` that follows `cursor` (the first page without one)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if cursor is not None:
        query = query.where(_after(order, *_decode(order, cursor)))
    ordered = [column.desc() if order.descending else column.asc() for column in (order.key, order.id)]
    rows = list(session.scalars(query.order_by(*ordered).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    return Page(rows[:limit], _encode(order, rows[limit - 1]))


def _after(order: Order, value: Any, row_id: uuid.UUID) -> ColumnElement[bool]:
    """Rows past the position: one row-value comparison, which both backends answer from an index."""
    position = tuple_(bindparam(None, value, order.key.type), bindparam(None, row_id, order.id.type))
    keys = tuple_(order.key, order.id)
    return keys < position if order.descending else keys > position


def _encode(order: Order, row: Any) -> str:
    """The cursor of the position after `row`; opaque, so that clients cannot come to depend on its content."""
    value = getattr(row, order.key.key)
    written = value.isoformat() if isinstance(value, datetime) else value
    position = json.dumps([order.sort, written, str(row.id)], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(position.encode()).decode()


def _decode(order: Order, cursor: str) -> tuple[Any, uuid.UUID]:
    """The position a cursor of this order stands for; InvalidCursor for anything else."""
    try:
        position = json.loads(base64.b64decode(cursor.encode(), altchars=b"-_", validate=True))
    except (ValueError, RecursionError) as error:
        raise InvalidCursor(cursor) from error
    if not (isinstance(position, list) and len(position) == 3 and isinstance(position[2], str)):
        raise InvalidCursor(cursor)
    sort, value, row_id = position
    if sort != order.sort:
        raise InvalidCursor(cursor, f"it was made for another sort than {order.sort}")
    try:
        return _READERS[order.key.type.python_type](value), uuid.UUID(row_id)
    except (ValueError, TypeError, OverflowError) as error:
        raise InvalidCursor(cursor) from error


def _moment(value: Any) -> datetime:
    """An aware time moved to UTC, as the store keeps them: a naive one, or one outside UTC's years, is refused."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value} has no offset")
    return moment.astimezone(UTC)


def _number(value: Any) -> float:
    """A finite float (JSON writes 1e-05 and 2.0 back exactly as they were)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value} is no finite number")
    return float(value)


def _integer(value: Any) -> int:
    """An integer the database can bind."""
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INTEGER:
        raise ValueError(f"{value} is no integer of the store")
    return value


def _text(value: Any) -> str:
    """Text the database can hold: UTF-8 encodable (no lone surrogate) and without NUL."""
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("no text of the store")
    value.encode()
    return value


_READERS: dict[type, Callable[[Any], Any]] = {datetime: _moment, float: _number, int: _integer, str: _text}
