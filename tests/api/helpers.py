"""Small helpers the API tests share: specs, the error shape, job counts, event streams."""

import copy
import json

import httpx

from contracts.spec import CANONICAL_EXAMPLE
from store import JobRepository, SessionFactory, session_scope


def canonical(**changes: object) -> dict:
    """The canonical spec with `section__field=value` changes (e.g. model__norm="none")."""
    spec = copy.deepcopy(CANONICAL_EXAMPLE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = spec
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return spec


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is a `status` in the one error shape, with a message; returns its `error` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and error["message"].strip()
    assert all(set(detail) == {"field", "message"} for detail in error["details"])
    if code is not None:
        assert error["code"] == code, error
    return error


def job_count(sessions: SessionFactory) -> int:
    """Every job in the database, of every owner."""
    with session_scope(sessions) as session:
        return sum(JobRepository(session).count_by_status().values())


def parse_events(stream: str) -> list[tuple[str, str, dict]]:
    """(event name, id, decoded data) of each server-sent event; comments (keep-alives) are skipped."""
    events = []
    for block in stream.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            events.append((fields["event"], fields["id"], json.loads(fields["data"])))
    return events
