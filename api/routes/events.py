"""Live job events over server-sent events, read by polling the database (the source of truth, rule 1).

Every poll is a short read of its own on a worker thread: a stream never holds a session, a connection
or a thread between polls, and on SQLite its reads take no lock a writer would wait for.
"""

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.deps import OwnedJob, Owner, Sessions
from api.errors import database_unavailable
from api.params import MAX_STEP
from api.routes.responses import AUTHENTICATED, ONE_JOB, STREAMS, as_json
from api.schemas import JobOut, MetricsOut
from api.streams import StreamSlot
from store import FINISHED, JobRepository, MetricRepository, Series, SessionFactory, read_scope

logger = logging.getLogger(__name__)

POLL_S = 0.5
NO_POINT = -1  # the position before any metric point
CHANGING = ("status", "progress", "cancel_requested", "attempts", "error", "summary", "started_at", "finished_at")

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

LastEventId = Annotated[
    int | None,
    Header(
        ge=NO_POINT,
        le=MAX_STEP,
        description="the `id` of the last event received: resume after it (browsers send it when they reconnect)",
    ),
]


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    summary="Follow a job live",
    responses={
        **as_json({**AUTHENTICATED, **ONE_JOB, **STREAMS}),
        200: {"description": "text/event-stream of `status` and `metric` events"},
    },
)
async def job_events(
    job: OwnedJob,
    owner: Owner,
    _slot: StreamSlot,
    sessions: Sessions,
    request: Request,
    last_event_id: LastEventId = None,
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events of the job's status and metric points, live.

    - `status` comes first with the whole job, as GET /v1/jobs/{id} returns it. Every later `status`
      event carries only `id` and the fields that changed since the previous one (of `status`,
      `progress`, `cancel_requested`, `attempts`, `error`, `summary`, `started_at`, `finished_at`).
    - `metric` ({job_id, series}) carries the points not sent yet, each series in step order.
    - Every event has an `id`: the highest metric step sent so far (-1 before any point). Reconnect with
      the header `Last-Event-ID: N` to get the current status and then only the points after step N.
    - The stream ends once the job has finished and all its points are sent, or when it is deleted, or
      when the database stops answering (reconnect with `Last-Event-ID` to go on where it stopped).
      A comment line keeps the connection alive whenever 15 s pass without an event.
    - Each owner may have `BNLAB_MAX_STREAMS` streams open on one API process; past that a 429 (with
      Retry-After) says to close one. A stream whose client went away ends at its next poll.
    """
    position = NO_POINT if last_event_id is None else last_event_id
    sent: JobOut | None = None
    while not await request.is_disconnected():
        current, series = await _next_poll(sessions, owner, job.id, position)
        if current is None:  # deleted meanwhile, or the database is unavailable
            return
        if sent is None:
            yield ServerSentEvent(event="status", data=current, id=str(position))
        if series:
            position = max(step for points in series.values() for step, _ in points)
            yield ServerSentEvent(event="metric", data=MetricsOut(job_id=current.id, series=series), id=str(position))
        changes = _changes(sent, current) if sent is not None else None
        if changes:
            yield ServerSentEvent(event="status", data=changes, id=str(position))
        sent = current
        if current.status in FINISHED:
            return
        await anyio.sleep(POLL_S)


async def _next_poll(
    sessions: SessionFactory, owner: str, job_id: UUID, after_step: int
) -> tuple[JobOut | None, Series]:
    """One poll on a worker thread; a database that stopped answering ends the stream as a deleted job does (the
    response has started, so no 503 can be sent: the client reconnects), any other error is a bug."""
    try:
        return await run_in_threadpool(_poll, sessions, owner, job_id, after_step)
    except SQLAlchemyError as error:
        if not database_unavailable(error):
            raise
        logger.warning("the event stream of job %s ends: the database is unavailable (%s)", job_id, error)
        return None, {}


def _poll(sessions: SessionFactory, owner: str, job_id: UUID, after_step: int) -> tuple[JobOut | None, Series]:
    """The job and its points after `after_step`, read in one short transaction.

    The worker commits a step's points together, so a step seen once is complete.
    """
    with read_scope(sessions) as session:
        job = JobRepository(session).get(owner, job_id)
        if job is None:
            return None, {}
        return JobOut.of(job), MetricRepository(session).series(job_id, step_min=after_step + 1)


def _changes(before: JobOut, after: JobOut) -> dict[str, Any] | None:
    """What a later `status` event carries: the job's id and the fields that changed, as JSON; None if none did."""
    changed = {field for field in CHANGING if getattr(before, field) != getattr(after, field)}
    return after.model_dump(mode="json", include={"id", *changed}) if changed else None
