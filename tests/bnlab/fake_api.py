"""A stand-in for the bnlab API in the test's own process: a FastAPI app with its 401 and its error shape."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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
