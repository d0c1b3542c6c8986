"""Prometheus: requests and latencies by route template, and jobs by status and queue depth read at scrape time.

Every tenant's job counts are the operator's business: GET /metrics needs the bearer token BNLAB_METRICS_TOKEN,
and is off (404) until one is set.
"""

import hmac
import logging
from collections.abc import Iterator
from time import perf_counter
from typing import Annotated

from celery import Celery
from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from kombu.exceptions import OperationalError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.broker import broker_connection, is_redis, queue_depth
from api.errors import ApiError
from api.routes.responses import errors
from store import JobRepository, SessionFactory, read_scope

logger = logging.getLogger(__name__)
UNMATCHED = "<unmatched>"  # one label for every unknown path, so that scanners cannot explode the series count


class ApiMetrics:
    """The app's own registry (not the global one), so several apps can live in one process, as in tests."""

    def __init__(self, sessions: SessionFactory, celery: Celery):
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter("bnlab_http_requests", "HTTP requests answered", labels, registry=self.registry)
        self.latency = Histogram(
            "bnlab_http_request_duration_seconds",
            "seconds to answer (streams: until closed)",
            labels,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(sessions, celery))

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one answered request under its route template (/v1/jobs/{job_id}, not the id)."""
        route = getattr(scope.get("route"), "path", UNMATCHED)
        labels = (scope["method"], route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)


class RequestMetrics:
    """ASGI middleware timing every HTTP request, errors included."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Record the status the response started with (500 if it never started), and the time until it ended."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = perf_counter(), 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            self.metrics.observe(scope, status, perf_counter() - start)


class _StateCollector(Collector):
    """Reads the database and the broker when scraped, so the numbers are never stale or double-counted."""

    def __init__(self, sessions: SessionFactory, celery: Celery):
        self.sessions, self.celery = sessions, celery

    def collect(self) -> Iterator[Metric]:
        """Jobs by status; the queue depth when the broker is Redis; each left out when its source is down."""
        try:
            with read_scope(self.sessions) as session:
                counts = JobRepository(session).count_by_status()
        except SQLAlchemyError:
            logger.warning("metrics: the database did not answer; jobs by status left out", exc_info=True)
        else:
            jobs = GaugeMetricFamily("bnlab_jobs", "jobs by status (all tenants)", labels=["status"])
            for status, count in counts.items():
                jobs.add_metric([status], count)
            yield jobs
        if is_redis(self.celery):
            yield from self._queue_depth()

    def _queue_depth(self) -> Iterator[Metric]:
        """Messages waiting in the default queue."""
        queue = self.celery.conf.task_default_queue
        try:
            with broker_connection(self.celery) as connection:
                depth = queue_depth(connection, queue)
        except OperationalError:
            logger.warning("metrics: the broker did not answer; queue depth left out", exc_info=True)
            return
        yield GaugeMetricFamily("bnlab_queue_depth", f"messages waiting in the {queue!r} queue", value=depth)


operator_token = HTTPBearer(
    auto_error=False,  # a missing token must get our 401 (with WWW-Authenticate), not the framework's 403
    scheme_name="MetricsToken",
    description="The operator's token: the value of BNLAB_METRICS_TOKEN on the API.",
)


async def operator(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_token)]
) -> None:
    """404 while no token is configured (saying how to turn /metrics on), 401 unless the caller sends it."""
    token: str | None = request.app.state.settings.metrics_token
    if token is None:
        raise ApiError(
            404, "metrics_off", "GET /metrics is off: set BNLAB_METRICS_TOKEN on the API and send it as a bearer token"
        )
    sent = credentials.credentials if credentials else ""
    if not hmac.compare_digest(sent.encode(), token.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "send the operator's metrics token as `Authorization: Bearer <BNLAB_METRICS_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(operator)],
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}},
        **errors({401: "the metrics token is missing or wrong", 404: "no BNLAB_METRICS_TOKEN is set: /metrics is off"}),
    },
)
def metrics(request: Request) -> Response:
    """Prometheus text format: request counts and latencies by route, jobs by status, queue depth (Redis).

    For operators: send `Authorization: Bearer <BNLAB_METRICS_TOKEN>`.
    """
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
