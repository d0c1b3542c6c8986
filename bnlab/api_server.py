"""The API's uvicorn server, able to say something once it really listens (`bnlab serve`'s first key)."""

import sys
from collections.abc import Callable

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

APP = "api.app:create_app"
GRACE_S = 5  # event streams may stay open for hours: give them a few seconds at shutdown, not forever


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
    config = uvicorn.Config(APP, factory=True, host=host, port=port, timeout_graceful_shutdown=GRACE_S)
    server = AnnouncingServer(config, when_up)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve_api_processes(host: str, port: int, processes: int) -> None:
    """Serve the HTTP API from `processes` processes sharing one socket (uvicorn's supervisor restarts any that
    dies), so that requests use more than one core; until interrupted."""
    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=processes,
                            timeout_graceful_shutdown=GRACE_S)  # fmt: skip
    Multiprocess(config, sockets=[config.bind_socket()]).run()
