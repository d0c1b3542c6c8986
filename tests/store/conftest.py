"""Every store test runs twice, on SQLite and on PostgreSQL, against a schema built by the migrations.

Each backend's database is made once per session with `alembic upgrade head` (store.migrate), never
create_all; each test then runs inside a transaction that is rolled back, its commits becoming
SAVEPOINT releases (polar's pattern), so tests neither see nor clean up after one another.
"""

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from contracts.spec import JobSpec
from store import Job, JobRepository, SessionFactory, make_engine
from store.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get("BNLAB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database of each backend in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'bnlab.sqlite'}"
        upgrade(url)
        yield url
    else:
        yield from postgres_database()


def postgres_database() -> Iterator[str]:
    """A fresh database of our own on the local server, dropped at the end (never one we did not create)."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bnlab_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except OperationalError as error:
        admin.dispose()
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (set BNLAB_TEST_POSTGRES_URL): {error}")
    try:
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The backend's engine, configured as the service configures it."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that the test never commits."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def factory(connection: Connection) -> SessionFactory:
    """Sessions whose commits only release a SAVEPOINT of the test's transaction."""
    return sessionmaker(connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
def session(factory: SessionFactory) -> Iterator[Session]:
    """The session a repository receives."""
    with factory() as session:
        yield session


@pytest.fixture
def make_job(session: Session) -> Callable[..., Job]:
    """Create a queued job of `owner` from spec fields (the defaults otherwise)."""

    def make(owner: str = "alice", **spec: object) -> Job:
        return JobRepository(session).create(owner, JobSpec.model_validate(spec))

    return make
