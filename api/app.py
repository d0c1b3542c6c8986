"""The FastAPI application: routes, errors, limits and metrics wired to one database and one broker.

Run it with `uvicorn --factory api.app:create_app`; settings come from BNLAB_* variables.
"""

from collections.abc import Callable
from functools import partial
from importlib.metadata import version
from uuid import UUID

from fastapi import FastAPI

from api.body_limit import BodySizeLimit
from api.errors import install_error_handlers
from api.metrics import ApiMetrics, RequestMetrics
from api.metrics import router as metrics_router
from api.routes import compare, events, health, jobs
from contracts.settings import Settings
from dispatch import Dispatcher, enqueue, make_celery
from store import sessions_for

Enqueuer = Callable[[UUID], None]

DESCRIPTION = """Train batch-normalization experiments as a service.

Every `/v1` route needs an API key (`bnlab keys create --name NAME`) sent as `Authorization: Bearer <key>`;
use **Authorize** above to try them here. Errors share one shape: `{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None, enqueuer: Enqueuer | None = None) -> FastAPI:
    """The API for `settings` (default: from the environment); `enqueuer` sends a committed job's id to the workers.

    The default enqueuer sends through one Celery app made here; tests pass one that records the ids.
    """
    settings = settings or Settings()
    celery = make_celery(settings)
    sessions = sessions_for(settings.resolved_database_url)
    metrics = ApiMetrics(sessions, celery)
    app = FastAPI(title="bnlab", version=version("bnlab"), description=DESCRIPTION)
    app.state.sessions, app.state.celery, app.state.metrics = sessions, celery, metrics
    app.state.dispatcher = Dispatcher(sessions, enqueuer or partial(enqueue, celery), settings)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RequestMetrics, metrics=metrics)  # added last, so outermost: it also sees 413s
    for router in (jobs.router, events.router, compare.router, health.router, metrics_router):
        app.include_router(router)
    return app

