"""Liveness and readiness probes (no API key: orchestrators call them)."""

from fastapi import APIRouter, Request
from kombu.exceptions import OperationalError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from api.broker import broker_connection
from api.errors import ApiError
from api.routes.responses import errors
from api.schemas import ErrorDetail, Liveness, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
def healthz() -> Liveness:
    """Always 200 while the process serves requests; checks nothing else."""
    return Liveness(status="ok")


@router.get("/readyz", summary="Readiness", responses=errors({503: "the database or the broker does not answer"}))
def readyz(request: Request) -> Readiness:
    """200 when the database answers `SELECT 1` and the broker accepts a connection; 503 naming which did not."""
    problems = {"database": _database_problem(request), "broker": _broker_problem(request)}
    failed = [ErrorDetail(field=name, message=problem) for name, problem in problems.items() if problem]
    if failed:
        summary = "; ".join(f"{detail.field}: {detail.message}" for detail in failed)
        raise ApiError(503, "not_ready", f"not ready: {summary}", failed)
    return Readiness(status="ok", checks=dict.fromkeys(problems, "ok"))


def _database_problem(request: Request) -> str | None:
    """Why the database does not answer, or None when it does."""
    try:
        with request.app.state.sessions() as session:
            session.execute(select(1))
    except SQLAlchemyError as error:
        return _first_line(error)
    return None


def _broker_problem(request: Request) -> str | None:
    """Why the broker refuses a connection, or None when it accepts one."""
    try:
        with broker_connection(request.app.state.celery):
            pass
    except OperationalError as error:
        return _first_line(error)
    return None


def _first_line(error: Exception) -> str:
    """The gist of a driver's error (SQLAlchemy appends the statement and a link on further lines)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
