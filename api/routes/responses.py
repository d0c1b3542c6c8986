"""The error answers routes document in OpenAPI, all in the one shape (api.schemas.Error)."""

from typing import Any

from api.schemas import Error


def errors(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, each described."""
    return {status: {"model": Error, "description": text} for status, text in descriptions.items()}


AUTHENTICATED = errors(
    {
        400: "a request that cannot be read: a body that does not parse, a cursor not from a previous page",
        401: "missing, unknown or revoked API key",
        422: "invalid parameters or body: `details` lists each field and what is wrong with it",
        503: "the database does not answer: retry after the seconds in the Retry-After header",
    }
)
ONE_JOB = errors({404: "no such job of yours (another tenant's job answers the same)"})
SUBMISSIONS = errors(
    {
        429: "you have BNLAB_MAX_ACTIVE_JOBS jobs queued or running, or submitted BNLAB_MAX_SUBMISSIONS_PER_MINUTE "
        "in the last minute: retry after the seconds in the Retry-After header"
    }
)
STREAMS = errors({429: "you have BNLAB_MAX_STREAMS event streams open on this server: close one"})


def as_json(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The same error answers pinned to application/json, for a route whose success is not JSON (server-sent events).

    FastAPI would otherwise document them in the route's own media type; Error is in the schema through other routes.
    """
    schema = {"$ref": f"#/components/schemas/{Error.__name__}"}
    return {
        status: {"description": response["description"], "content": {"application/json": {"schema": schema}}}
        for status, response in responses.items()
    }
