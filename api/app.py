"""The FastAPI application: routes, errors, limits and metrics wired to one database and one broker.

Run it with `uvicorn --factory api.app:create_app`; settings come from BNLAB_* variables.

Every database call runs on a worker thread, and `BNLAB_API_THREADS` of them run at once (the default
thread limiter, set at startup); the connection pool keeps a connection for each thread and a few more,
so that no thread ever waits for a connection while another waits for a thread.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import version
from uuid import UUID

import anyio.to_thread
from fastapi import FastAPI

from api import dashboard
from api.body_limit import BodySizeLimit
from api.docs import app_with_offline_docs
from api.errors import install_error_handlers
from api.metrics import ApiMetrics, RequestMetrics
from api.metrics import router as metrics_router
from api.plot_cache import PlotCache
from api.routes import compare, events, health, jobs, reports, studies
from api.streams import StreamSlots
from contracts.settings import Settings
from dispatch import Dispatcher, enqueue, make_celery
from store import sessions_for

Enqueuer = Callable[[UUID], None]
SPARE_CONNECTIONS = 4  # over the threads: the margin that keeps a returning connection from ever making one wait

DESCRIPTION = """Train batch-normalization experiments as a service.

Every `/v1` route needs an API key (`bnlab keys create --name NAME`) sent as `Authorization: Bearer <key>`;
use **Authorize** above to try them here. Errors share one shape: `{"error": {"code", "message", "details"}}`.
A 503 (`database_unavailable`) and a 429 carry `Retry-After`: the seconds to wait before trying again.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the event loop's thread limiter, which every sync route, dependency and background task shares."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.api_threads
    yield


def create_app(settings: Settings | None = None, enqueuer: Enqueuer | None = None) -> FastAPI:
    """The API for `settings` (default: from the environment); `enqueuer` sends a committed job's id to the workers.

    The default enqueuer sends through one Celery app made here; tests pass one that records the ids.
    """
    settings = settings or Settings()
    celery = make_celery(settings)
    sessions = sessions_for(settings.resolved_database_url, pool_size=settings.api_threads + SPARE_CONNECTIONS)
    metrics = ApiMetrics(sessions, celery)
    app = app_with_offline_docs(title="bnlab", version=version("bnlab"), description=DESCRIPTION, lifespan=lifespan)
    app.state.settings, app.state.sessions, app.state.celery, app.state.metrics = settings, sessions, celery, metrics
    app.state.dispatcher = Dispatcher(sessions, enqueuer or partial(enqueue, celery), settings)
    app.state.streams = StreamSlots(settings.max_streams)
    app.state.plots = PlotCache()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RequestMetrics, metrics=metrics)  # added last, so outermost: it also sees 413s
    for router in (
        jobs.router,
        studies.router,
        reports.router,
        events.router,
        compare.router,
        health.router,
        metrics_router,
        dashboard.router,
    ):
        app.include_router(router)
    dashboard.mount_assets(app)
    return app
