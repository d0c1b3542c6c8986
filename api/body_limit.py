"""Refuse request bodies over a size limit with a 413 in the API's error shape, before they fill memory."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024  # a job spec is a few hundred bytes


def too_large(limit: int) -> ApiError:
    """The refusal, naming the limit."""
    return ApiError(413, "body_too_large", f"the request body exceeds {limit} bytes: send a job spec, not data")


class BodySizeLimit:
    """Checks the declared Content-Length up front and counts a chunked body as it arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 at once for a declared oversize; otherwise let the route read through a counting receive."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await too_large(self.max_bytes).response()(scope, receive, send)
        return await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        """A receive that raises 413 (handled as any ApiError) once the body outgrows the limit."""
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large(self.max_bytes)
            return message

        return counted
