"""Failures that are not the caller's: a database that does not answer is a 503 to retry, a bug a 500 that closes
the connection."""

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.app import create_app
from api.errors import database_unavailable
from contracts.settings import Settings
from contracts.spec import CANONICAL_EXAMPLE
from tests.api.conftest import REDIS_URL
from tests.api.helpers import assert_error
from tests.api.servers import serving_in_thread
from tests.net import free_port


def unreachable(backend: str, tmp_path: Path) -> tuple[str, list[str]]:
    """A database URL where no database answers, and the parts of it an answer must not reveal."""
    if backend == "postgresql":
        port = free_port()
        return f"postgresql+psycopg://postgres:secret@127.0.0.1:{port}/nowhere", ["127.0.0.1", str(port), "secret"]
    folder = tmp_path / "a-folder-not-a-file"  # SQLite cannot open a folder as its database file
    folder.mkdir()
    return f"sqlite:///{folder}", [str(tmp_path), "sqlite"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs/x/events")])
def test_an_unreachable_database_is_503_with_retry_after(tmp_path, backend, method, path):
    url, secrets = unreachable(backend, tmp_path)
    app = create_app(Settings(database_url=url, broker_url=REDIS_URL, data_dir=tmp_path))
    headers = {"Authorization": "Bearer bnl_any-key"}

    with TestClient(app) as client:
        response = client.request(method, path, json=CANONICAL_EXAMPLE, headers=headers)

    error = assert_error(response, 503, "database_unavailable")
    assert int(response.headers["retry-after"]) > 0 and "retry" in error["message"]
    leaks = [*secrets, "SELECT", "api_keys", "psycopg", "OperationalError"]
    assert [leak for leak in leaks if leak.lower() in response.text.lower()] == []


def test_a_500_tells_the_client_that_the_connection_closes(settings):
    app = create_app(settings)

    @app.get("/test-only/bug")
    def bug() -> None:
        """A route that fails as a bug would."""
        raise RuntimeError("a bug")

    with serving_in_thread(app) as base, httpx.Client(base_url=base) as http:
        response = http.get("/test-only/bug")
        after = http.get("/healthz")  # a new connection: the old one was closed, as announced

    assert_error(response, 500, "internal_error")
    assert response.headers["connection"] == "close"
    assert after.status_code == 200


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError("SELECT 1", {}, ConnectionRefusedError("refused")), True),
        (InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
        (DBAPIError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True), True),
        (PoolTimeout("QueuePool limit of size 5 overflow 10 reached"), True),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (DataError("INSERT", {}, Exception("value too long")), False),
        (DBAPIError("SELECT 1", {}, Exception("a bug")), False),
    ],
    ids=["operational", "interface", "invalidated", "pool timeout", "integrity", "data", "other"],
)
def test_which_database_errors_mean_unavailable(error, unavailable):
    assert database_unavailable(error) is unavailable
