"""Liveness and readiness probes (no API key: orchestrators call them).

They say which dependency is down, never how to reach it: the driver's error, with host and port, goes
to the server's log only.
"""

import logging

from fastapi import APIRouter, Request
from kombu.exceptions import OperationalError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from api.broker import broker_connection
from api.errors import ApiError
from api.routes.responses import errors
from api.schemas import ErrorDetail, Liveness, Readiness
from store import read_scope

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> Liveness:
    """Always 200 while the process serves requests; checks nothing else (async: it needs no thread, no database)."""
    return Liveness(status="ok")


@router.get("/readyz", summary="Readiness", responses=errors({503: "the database or the broker does not answer"}))
def readyz(request: Request) -> Readiness:
    """200 when the database answers `SELECT 1` and the broker accepts a connection; 503 naming which did not."""
    answers = {"database": _database_answers(request), "broker": _broker_answers(request)}
    failed = [ErrorDetail(field=name, message="unavailable") for name, ok in answers.items() if not ok]
    if failed:
        summary = "; ".join(f"{detail.field}: {detail.message}" for detail in failed)
        raise ApiError(503, "not_ready", f"not ready: {summary}", failed)
    return Readiness(status="ok", checks=dict.fromkeys(answers, "ok"))


def _database_answers(request: Request) -> bool:
    """Whether the database answers a read (why not is logged)."""
    try:
        with read_scope(request.app.state.sessions) as session:
            session.execute(select(1))
    except SQLAlchemyError:
        logger.warning("readyz: the database does not answer", exc_info=True)
        return False
    return True


def _broker_answers(request: Request) -> bool:
    """Whether the broker accepts a connection (why not is logged)."""
    try:
        with broker_connection(request.app.state.celery):
            pass
    except OperationalError:
        logger.warning("readyz: the broker does not answer", exc_info=True)
        return False
    return True
