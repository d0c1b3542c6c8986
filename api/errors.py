"""One JSON error shape for every failure, and the mapping of each kind of failure onto it (rule 10).

A user's mistake becomes a 4xx whose message says what to change; only a bug becomes a 500, and a
database that does not answer a 503 the client may retry. Inputs are never echoed back: they may be
huge, or NaN, which JSON cannot even carry.
"""

import logging
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from api.schemas import Error, ErrorBody, ErrorDetail
from contracts.study import STUDY_KINDS
from store import (
    FINISHED,
    IdempotencyConflict,
    InvalidCursor,
    JobNotFinished,
    StoreError,
    StudyNotFinished,
    TransitionError,
)

logger = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_S = 5
_STORE_ERRORS: dict[type[StoreError], tuple[int, str]] = {
    IdempotencyConflict: (409, "idempotency_conflict"),
    JobNotFinished: (409, "job_not_finished"),
    StudyNotFinished: (409, "study_not_finished"),
    InvalidCursor: (400, "invalid_cursor"),
    TransitionError: (409, "invalid_status"),
}
_FRIENDLIER = {
    "model_attributes_type": "the body must be a JSON object sent with Content-Type: application/json",
    "missing": "required: add it",
}
_PLAINER = {  # pydantic's wording of these says nothing about what to send instead, wherever they occur
    "string_unicode": "must be text of whole characters: no lone surrogates (U+D800 to U+DFFF)",
}


class ApiError(HTTPException):
    """An HTTP error with a stable code, raised by routes and dependencies."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Sequence[ErrorDetail] = (),
        headers: dict[str, str] | None = None,
    ):
        super().__init__(status_code, message, headers)
        self.code, self.details = code, list(details)

    def response(self) -> JSONResponse:
        """This error in the one shape."""
        return error_response(self.status_code, self.code, self.detail, self.details, self.headers)


def error_response(
    status: int, code: str, message: str, details: Iterable[ErrorDetail] = (), headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one shape: {"error": {"code", "message", "details"}}; a 500 also says the connection closes (the server
    closes it after an unhandled error, and a client must not send its next request on it)."""
    body = Error(error=ErrorBody(code=code, message=message, details=list(details)))
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        headers = {**(headers or {}), "Connection": "close"}
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def job_not_found(job_id: UUID) -> ApiError:
    """Someone else's job and a missing one answer alike, so ids reveal nothing about other tenants."""
    return ApiError(404, "not_found", f"job {job_id} not found: check the id (GET /v1/jobs lists your jobs)")


def too_many_requests(code: str, message: str, retry_after_s: int) -> ApiError:
    """A 429 for a limit the caller reached, with the seconds after which trying again can succeed."""
    return ApiError(429, code, message, headers={"Retry-After": str(max(1, retry_after_s))})


def invalid_fields(details: list[ErrorDetail], code: str = "validation_error") -> ApiError:
    """A 422 listing each invalid field, its message naming the first."""
    message = f"{len(details)} invalid field(s); first {details[0].field}: {details[0].message}"
    return ApiError(422, code, message, details)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Our ApiErrors carry their code; the framework's own (unknown route, wrong method) get one from the status."""
    if isinstance(exc, ApiError):
        return exc.response()
    message = f"{exc.detail}: {request.method} {request.url.path} (see /docs for the routes and what they accept)"
    return error_response(exc.status_code, HTTPStatus(exc.status_code).name.lower(), message, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Each invalid field with its path and pydantic's message; malformed JSON gets a code of its own."""
    malformed = any(error["type"] == "json_invalid" for error in exc.errors())
    code = "invalid_json" if malformed else "validation_error"
    return invalid_fields([_detail(error) for error in exc.errors()], code).response()


def _detail(error: dict[str, Any]) -> ErrorDetail:
    """`body.model.hidden[0]`-style path and a message with pydantic's 'Value error, ' prefix dropped."""
    if error["type"] == "json_invalid":
        position = error["loc"][-1]
        return ErrorDetail(field="body", message=f"not valid JSON: {error['ctx']['error']} at character {position}")
    parts = [part for part in error["loc"] if part not in STUDY_KINDS]  # a union's tag is no field
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts).lstrip(".")
    message = _FRIENDLIER.get(error["type"]) if error["loc"] == ("body",) else _PLAINER.get(error["type"])
    return ErrorDetail(field=_encodable(path), message=message or error["msg"].removeprefix("Value error, "))


def _encodable(text: str) -> str:
    """An unknown field's name is the client's text and may hold a lone surrogate, which UTF-8 cannot carry."""
    return text.encode("utf-8", "replace").decode("utf-8")


async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
    """The store's refusals already say what to change; a finished job gets a plainer sentence."""
    status, code = _STORE_ERRORS[type(exc)]
    message = str(exc)
    if isinstance(exc, TransitionError) and exc.status in FINISHED:
        message = f"job {exc.job_id} has already finished ({exc.status}) and can no longer change"
    return error_response(status, code, message)


def database_unavailable(error: SQLAlchemyError) -> bool:
    """The database did not answer (down, unreachable, a dropped connection, no free connection in time): not a
    bug in the request or in the code, and worth retrying."""
    invalidated = isinstance(error, DBAPIError) and error.connection_invalidated
    return invalidated or isinstance(error, OperationalError | InterfaceError | PoolTimeout)


async def _database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
    """503 with Retry-After when the database is unavailable (the detail, with its SQL and address, only in the
    server's log); any other database error is a bug, handled as one."""
    if not database_unavailable(exc):
        raise exc
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    message = f"the database is unavailable; retry in {DATABASE_RETRY_AFTER_S} s"
    return error_response(503, "database_unavailable", message, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: say so without leaking internals (the server logs the traceback)."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged (this is a bug)")


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the one shape."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
