"""A stand-in for the bnlab API in the test's own process: a FastAPI app served by uvicorn on a free port."""

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.net import free_port

KEY = "bnl_fake"


def api_error(status: int, code: str, message: str) -> JSONResponse:
    """An error in the API's one shape."""
    return JSONResponse({"error": {"code": code, "message": message, "details": []}}, status_code=status)


def fake_app() -> FastAPI:
    """An app that, like the API, answers 401 to any request without the fake key."""
    app = FastAPI()

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        """The API's 401 for a missing or wrong key."""
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return api_error(401, "unauthorized", "send a valid API key")
        return await call_next(request)

    return app


@contextlib.contextmanager
def serving_app(app: FastAPI) -> Iterator[str]:
    """`app` on a free loopback port, in a thread, for the duration of the block; its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the fake API did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
