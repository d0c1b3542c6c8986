"""Live job events over server-sent events, read by polling the database (the source of truth, rule 1).

Every poll opens a fresh, short session: SQLite locks the file for a session's whole transaction,
so a stream must never hold one between polls. FastAPI's SSE support adds a keep-alive comment
whenever 15 s pass without an event.
"""

from collections.abc import AsyncIterator
from uuid import UUID

import anyio
from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from api.deps import OwnedJob, Owner
from api.routes.responses import AUTHENTICATED, ONE_JOB, as_json
from api.schemas import JobOut, MetricsOut
from store import FINISHED, JobRepository, MetricRepository, Series, SessionFactory, session_scope

POLL_S = 0.5

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    summary="Follow a job live",
    responses={
        **as_json({**AUTHENTICATED, **ONE_JOB}),
        200: {"description": "text/event-stream of `status` and `metric` events"},
    },
)
async def job_events(job: OwnedJob, owner: Owner, request: Request) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events of the job's status and metric points, live.

    `status` (the job, as GET /v1/jobs/{id} returns it) comes first, then again on every change of
    status, progress, cancel flag or attempts; `metric` ({job_id, series}) carries the points not sent
    yet, the earlier ones included. The stream ends once the job has finished and all its points are sent.
    """
    sessions: SessionFactory = request.app.state.sessions
    sent_state, last_step = None, -1
    while True:
        current, series = await run_in_threadpool(_poll, sessions, owner, job.id, last_step)
        if current is None:  # deleted meanwhile
            return
        if sent_state is None:
            yield ServerSentEvent(event="status", data=current)
            sent_state = _state(current)
        if series:
            yield ServerSentEvent(event="metric", data=MetricsOut(job_id=current.id, series=series))
            last_step = max(step for points in series.values() for step, _ in points)
        if _state(current) != sent_state:
            yield ServerSentEvent(event="status", data=current)
            sent_state = _state(current)
        if current.status in FINISHED:
            return
        await anyio.sleep(POLL_S)


def _poll(sessions: SessionFactory, owner: str, job_id: UUID, after_step: int) -> tuple[JobOut | None, Series]:
    """The job and its points after `after_step`, read in one short transaction.

    The worker commits a step's points together, so a step seen once is complete.
    """
    with session_scope(sessions) as session:
        job = JobRepository(session).get(owner, job_id)
        if job is None:
            return None, {}
        return JobOut.of(job), MetricRepository(session).series(job_id, step_min=after_step + 1)


def _state(job: JobOut) -> tuple:
    """What a `status` event reports a change of."""
    return job.status, job.progress, job.cancel_requested, job.attempts
