"""Per-request plumbing: one unit of work committed at the request's edge (rule 3), the caller, their job."""

from collections.abc import Iterator
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.errors import ApiError, job_not_found
from store import ApiKeyRepository, Job, JobRepository, session_scope

bearer = HTTPBearer(
    auto_error=False,  # a missing key must get our 401 (with WWW-Authenticate), not the framework's 403
    scheme_name="ApiKey",
    description="An API key from `bnlab keys create --name NAME` (it starts with bnl_).",
)


def db_session(request: Request) -> Iterator[Session]:
    """One session per request, committed after the route returns and before the response leaves (rule 3)."""
    with session_scope(request.app.state.sessions) as session:
        yield session


# "function" scope: the commit happens before the response is sent, and a streaming route releases it at once.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def current_owner(
    session: DbSession, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str:
    """The tenant behind the bearer key; 401 for a missing, unknown or revoked key."""
    owner = ApiKeyRepository(session).authenticate(credentials.credentials) if credentials else None
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


def owned_job(job_id: JobId, owner: Owner, session: DbSession) -> Job:
    """The job named in the path, if it is the caller's."""
    return find_job(session, owner, job_id)


OwnedJob = Annotated[Job, Depends(owned_job)]
