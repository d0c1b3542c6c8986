"""API tests run on SQLite and PostgreSQL (tests/store's fresh, migrated databases) through FastAPI's TestClient.

The app commits for real (the enqueuer must find a committed row), so tests isolate themselves by
tenant instead of by rollback: each test makes its own API keys, hence owners that see only their jobs.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from contracts.settings import Settings
from store import ApiKeyRepository, Job, SessionFactory, get_engine, make_session_factory, session_scope
from tests.api.helpers import canonical
from tests.store.conftest import database_url  # noqa: F401  (the databases: one per backend, dropped at the end)

REDIS_URL = os.environ.get("BNLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
METRICS_TOKEN = "operator-token-of-the-tests"

Headers = dict[str, str]


@pytest.fixture(scope="session")
def sessions(database_url: str) -> SessionFactory:  # noqa: F811
    """Sessions on the database the app under test uses (the same process-wide engine)."""
    return make_session_factory(get_engine(database_url))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:  # noqa: F811
    """The app's settings: the test database, a real Redis broker (used by /readyz and /metrics only), /metrics on."""
    return Settings(database_url=database_url, broker_url=REDIS_URL, data_dir=tmp_path, metrics_token=METRICS_TOKEN)


@pytest.fixture
def enqueued() -> list[tuple[UUID, str | None]]:
    """What the app sent to the workers: each job id with the status its committed row had at that moment."""
    return []


@pytest.fixture
def app(settings: Settings, sessions: SessionFactory, enqueued: list) -> FastAPI:
    """The app with an enqueuer that records, reading the job through a session of its own (so: committed)."""

    def record(job_id: UUID, queue: str) -> None:
        with session_scope(sessions) as session:
            job = session.get(Job, job_id)
            enqueued.append((job_id, job.status if job else None))

    return create_app(settings, enqueuer=record)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client on the app; a server error raises in the test instead of becoming a 500."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def operator() -> Headers:
    """The operator's headers for GET /metrics."""
    return {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def new_key(sessions: SessionFactory) -> Callable[..., Headers]:
    """Headers with a new API key, of a new owner unless one is given."""

    def make(owner: str | None = None) -> Headers:
        with session_scope(sessions) as session:
            _, plaintext = ApiKeyRepository(session).create("test", owner)
        return {"Authorization": f"Bearer {plaintext}"}

    return make


@pytest.fixture
def alice(new_key: Callable[..., Headers]) -> Headers:
    """A tenant of this test."""
    return new_key()


@pytest.fixture
def bob(new_key: Callable[..., Headers]) -> Headers:
    """Another tenant of this test."""
    return new_key()


@pytest.fixture
def submit(client: TestClient, alice: Headers) -> Callable[..., dict]:
    """Submit the canonical spec with `section__field=value` changes (as alice unless `headers` is given)."""

    def post(headers: Headers = alice, **changes: object) -> dict:
        response = client.post("/v1/jobs", json=canonical(**changes), headers=headers)
        assert response.status_code == 201, response.text
        return response.json()

    return post
