"""The worker's database access: the process's one engine (rule 11), created on first use, so after any fork."""

from bnlab.settings import Settings
from store import SessionFactory, get_engine, make_session_factory


def session_factory(settings: Settings) -> SessionFactory:
    """Sessions on this process's engine for the configured database."""
    return make_session_factory(get_engine(settings.resolved_database_url))
