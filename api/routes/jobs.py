"""Jobs: submit, list, get, metrics, cancel, delete; every query is scoped to the caller (tenancy).

Each route runs its unit of work in one thread call: reads in a read scope, writes in a session scope
committed before the response leaves (rule 3).
"""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Header, Query, Request

from api.deps import AppSettings, JobId, OwnedJob, Owner, Sessions, find_job
from api.errors import job_not_found
from api.limits import check_threads, submitted
from api.params import IdempotencyKey, JobFilters, SeriesQuery
from api.routes.responses import AUTHENTICATED, ONE_JOB, SUBMISSIONS, errors
from api.schemas import JobOut, JobPage, MetricsOut
from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from store import FINISHED, JobRepository, MetricRepository, read_scope, session_scope

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=AUTHENTICATED)

SpecBody = Annotated[
    JobSpec,
    Body(
        description="The job spec; every field but those you set takes its default. Unknown fields are rejected.",
        openapi_examples={
            "canonical": {
                "summary": "Figure 1 of Ioffe & Szegedy (2015): a sigmoid MLP with batch norm",
                "value": CANONICAL_EXAMPLE,
            }
        },
    ),
]


@router.post(
    "",
    status_code=201,
    summary="Submit a job",
    responses={
        **errors(
            {
                409: "the Idempotency-Key was already used with a different body",
                413: "the body is larger than 1 MiB",
            }
        ),
        **SUBMISSIONS,
    },
)
def submit_job(
    spec: SpecBody,
    owner: Owner,
    sessions: Sessions,
    settings: AppSettings,
    request: Request,
    background: BackgroundTasks,
    idempotency_key: Annotated[IdempotencyKey, Header()] = None,
) -> JobOut:
    """Queue a training job and answer 201 with it (status `queued`).

    With an `Idempotency-Key` header, resending the same body with the same key answers 201 with the job
    the first request created (nothing new is created, and it counts against no limit), and the same key
    with another body answers 409. `training.threads` may be at most `BNLAB_MAX_JOB_THREADS`.
    Each owner may have `BNLAB_MAX_ACTIVE_JOBS` jobs queued or running and submit
    `BNLAB_MAX_SUBMISSIONS_PER_MINUTE` jobs a minute; past either, a 429 with Retry-After.
    The job is sent to the workers once its row is committed, within your fair share of the workers
    (`BNLAB_DISPATCH_PER_OWNER`); if the broker cannot take it, it stays queued and is sent again later.
    """
    check_threads(spec, settings)
    with session_scope(sessions) as session:
        job = JobOut.of(submitted(session, owner, spec, idempotency_key, settings))
    background.add_task(request.app.state.dispatcher.dispatch_coalesced, owner)  # after the commit, on a pool thread
    return job


@router.get("", summary="List your jobs")
def list_jobs(owner: Owner, sessions: Sessions, filters: Annotated[JobFilters, Query()]) -> JobPage:
    """Your jobs, filtered, in the order `sort` names (newest first by default); pass `next_cursor` back as
    `cursor`, with the same sort and filters, for the next page (a cursor of another sort is a 400)."""
    with read_scope(sessions) as session:
        page = JobRepository(session).list(owner, **filters.model_dump())
        return JobPage(items=[JobOut.of(job) for job in page.jobs], next_cursor=page.next_cursor)


@router.get("/{job_id}", summary="Get a job", responses=ONE_JOB)
async def get_job(job: OwnedJob) -> JobOut:
    """The job's status, spec, progress, summary, error, attempts and timestamps (async: OwnedJob read it already,
    so answering takes no second thread call)."""
    return JobOut.of(job)


@router.get("/{job_id}/metrics", summary="Get a job's metric series", responses=ONE_JOB)
def job_metrics(job_id: JobId, owner: Owner, sessions: Sessions, query: Annotated[SeriesQuery, Query()]) -> MetricsOut:
    """Series by name within a step range, optionally downsampled on the server (first and last points kept)."""
    with read_scope(sessions) as session:
        job = find_job(session, owner, job_id)
        return MetricsOut(job_id=job.id, series=MetricRepository(session).series(job.id, **query.model_dump()))


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a job",
    responses={**ONE_JOB, **errors({409: "the job has already finished"})},
)
def cancel_job(
    job_id: JobId, owner: Owner, sessions: Sessions, request: Request, background: BackgroundTasks
) -> JobOut:
    """A queued job is cancelled at once; a running one is flagged and stops at its next step (cooperative)."""
    with session_scope(sessions) as session:
        job = JobRepository(session).request_cancel(owner, job_id)
        if job is None:
            raise job_not_found(job_id)
        cancelled = JobOut.of(job)
    if cancelled.status in FINISHED:  # it left the queue: the owner's next job may go out now
        background.add_task(request.app.state.dispatcher.dispatch_coalesced, owner)
    return cancelled


@router.delete(
    "/{job_id}",
    status_code=204,
    summary="Delete a finished job",
    responses={**ONE_JOB, **errors({409: "the job has not finished: cancel it and wait"})},
)
def delete_job(job_id: JobId, owner: Owner, sessions: Sessions, request: Request, background: BackgroundTasks) -> None:
    """Delete a succeeded, failed or cancelled job with its metrics and checkpoints records."""
    with session_scope(sessions) as session:
        if not JobRepository(session).delete(owner, job_id):
            raise job_not_found(job_id)
    background.add_task(request.app.state.dispatcher.dispatch_coalesced, owner)
