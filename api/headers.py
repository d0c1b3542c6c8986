"""Headers that bnlab adds to answers it serves through others' apps: StaticFiles sends no Cache-Control.

Any app that serves files can be wrapped, for example a mount of the dashboard's assets:
`app.mount("/ui/assets", WithHeaders(StaticFiles(directory=ASSETS), {"Cache-Control": "public, max-age=3600"}))`.
"""

from collections.abc import Mapping

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class WithHeaders:
    """An ASGI app that answers as `app` does, with `headers` added to every successful answer.

    Errors (a missing file's 404, a 405) get none of them, so a browser never caches a file's absence.
    """

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        """Serve through `app`, adding `headers` (e.g. `{"Cache-Control": "public, max-age=86400"}`)."""
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers as the answer starts."""

        async def send_with_headers(message: Message) -> None:
            """Add the headers to the start of a successful answer (a 200, a 206, a 304)."""
            if message["type"] == "http.response.start" and message["status"] < 400:
                MutableHeaders(scope=message).update(self.headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_headers(app: FastAPI, path: str, headers: Mapping[str, str]) -> None:
    """Add `headers` to the successful answers of the route or mount at `path` that someone else made."""
    [route] = [route for route in app.routes if isinstance(route, Route | Mount) and route.path == path]
    route.app = WithHeaders(route.app, headers)
