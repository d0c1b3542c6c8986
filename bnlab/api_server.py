"""The API's uvicorn server, able to say something once it really listens (`bnlab serve`'s first key)."""

import sys
from collections.abc import Callable

import uvicorn
from uvicorn.config import STARTUP_FAILURE


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls `when_up` right after its sockets are bound and the app has started."""

    def __init__(self, config: uvicorn.Config, when_up: Callable[[], None]) -> None:
        super().__init__(config)
        self.when_up = when_up

    async def startup(self, sockets: list | None = None) -> None:
        """uvicorn's startup (it exits on failure), then the announcement; a start that failed announces nothing."""
        await super().startup(sockets)
        if self.started:
            self.when_up()


def serve_api(host: str, port: int, when_up: Callable[[], None]) -> None:
    """Serve the HTTP API in this process until interrupted, as `uvicorn.run` would; exit 3 if it never started."""
    # Event streams may stay open for hours: give them a few seconds at shutdown, not forever.
    config = uvicorn.Config("api.app:create_app", factory=True, host=host, port=port, timeout_graceful_shutdown=5)
    server = AnnouncingServer(config, when_up)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
