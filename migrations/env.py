"""Alembic's entry point: which database (settings, or `-x url=...`, or store.migrate's URL) and which metadata."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, make_url, pool
from sqlalchemy.types import TypeDecorator

from contracts.settings import Settings
from store.db import ensure_sqlite_dir
from store.models import Base

config = context.config


def database_url() -> str:
    """The URL store.migrate passes, else `alembic -x url=...`, else the one every bnlab command reads."""
    return (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or Settings().resolved_database_url
    )


def render_item(kind: str, obj: object, _autogen_context: object) -> str | bool:
    """Write a TypeDecorator as the type it stores, so that a revision never imports code that may change."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def options(url: str) -> dict:
    """SQLite alters tables by copying them ("batch"); the same revisions then run on PostgreSQL unchanged."""
    return {
        "target_metadata": Base.metadata,
        "render_as_batch": make_url(url).get_backend_name() == "sqlite",
        "render_item": render_item,
        "compare_type": True,
    }


def run_offline(url: str) -> None:
    """`alembic upgrade --sql`: print the DDL instead of running it."""
    context.configure(url=url, literal_binds=True, **options(url))
    with context.begin_transaction():
        context.run_migrations()


def run_online(url: str) -> None:
    """Run on a plain engine: on SQLite, foreign keys must stay off, or a batch table copy would cascade deletes."""
    ensure_sqlite_dir(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options(url))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if config.config_file_name and "url" not in config.attributes:  # the alembic command line, not store.migrate
    fileConfig(config.config_file_name, disable_existing_loggers=False)
if context.is_offline_mode():
    run_offline(database_url())
else:
    run_online(database_url())
