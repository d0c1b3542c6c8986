"""The dispatcher's tests run on the store tests' databases: SQLite and PostgreSQL, each test rolled back."""

from tests.store.conftest import connection, database_url, engine, factory, make_job, session  # noqa: F401
