"""Cursors crafted in the store's format for arbitrary positions, for tests of what the store and the API refuse."""

import base64
import json


def crafted_cursor(sort: str, value: object, row_id: object) -> str:
    """A cursor of `sort` at (value, row_id), whatever they are (JSON writes NaN and lone surrogates too)."""
    return base64.urlsafe_b64encode(json.dumps([sort, value, row_id]).encode()).decode()
