"""Per-request plumbing: the caller, their job, the database and the settings.

A request never holds a database connection while it waits for anything else: each unit of work
(authenticating, a route's reads or writes) opens and commits its session inside one call on a worker
thread, and the connection pool has a connection for every thread (api.app). A session opened in one
thread call and closed in another would hold its connection while the request waits for a free thread.
"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.errors import ApiError, job_not_found
from contracts.settings import Settings
from store import ApiKeyRepository, Job, JobRepository, SessionFactory, read_scope

bearer = HTTPBearer(
    auto_error=False,  # a missing key must get our 401 (with WWW-Authenticate), not the framework's 403
    scheme_name="ApiKey",
    description="An API key from `bnlab keys create --name NAME` (it starts with bnl_).",
)


async def app_sessions(request: Request) -> SessionFactory:
    """The app's sessions (async: handing them over needs no thread)."""
    return request.app.state.sessions


async def app_settings(request: Request) -> Settings:
    """The app's settings (async: handing them over needs no thread)."""
    return request.app.state.settings


Sessions = Annotated[SessionFactory, Depends(app_sessions)]
AppSettings = Annotated[Settings, Depends(app_settings)]


def current_owner(
    sessions: Sessions, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str:
    """The tenant behind the bearer key (one read, on a thread); 401 for a missing, unknown or revoked key."""
    owner = None
    if credentials is not None:
        with read_scope(sessions) as session:
            owner = ApiKeyRepository(session).authenticate(credentials.credentials)
    if owner is None:
        raise ApiError(
            401,
            "unauthorized",
            "send a valid API key as `Authorization: Bearer <key>` (create one with `bnlab keys create --name NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return owner


Owner = Annotated[str, Depends(current_owner)]
JobId = Annotated[UUID, Path(description="the job's id, as returned when it was submitted")]


def find_job(session: Session, owner: str, job_id: UUID) -> Job:
    """The caller's job; another tenant's answers 404 exactly like a missing one."""
    job = JobRepository(session).get(owner, job_id)
    if job is None:
        raise job_not_found(job_id)
    return job


def owned_job(job_id: JobId, owner: Owner, sessions: Sessions) -> Job:
    """The job named in the path, if it is the caller's (read in a unit of work of its own)."""
    with read_scope(sessions) as session:
        return find_job(session, owner, job_id)


OwnedJob = Annotated[Job, Depends(owned_job)]
