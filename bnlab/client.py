"""The bnlab API over HTTP (httpx), as any client sees it; every failure becomes a ClientError of one line.

An error answer is shown as the API's own message (`{"error": {"code", "message", "details"}}`) with its status;
a server that cannot be reached, or that is not the bnlab API, says so and names the URL.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bnlab.client_errors import ClientError, Refused, Unreachable
from bnlab.sse import Event, parse_events

TIMEOUT_S = 30
STREAM_READ_TIMEOUT_S = 60  # an event stream sends a keep-alive comment every 15 s


class ApiClient:
    """Requests to one API with one key."""

    def __init__(self, url: str, key: str | None) -> None:
        if not key:
            raise ClientError(
                "no API key: pass --key or set BNLAB_API_KEY (`bnlab serve` prints a first key; "
                "`bnlab keys create --name NAME` makes more)"
            )
        self.url = _checked(url).rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT_S)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON an API route answers; parameters that are None are left out."""
        given = {name: value for name, value in (params or {}).items() if value is not None}
        return self._json(self._send("GET", path, params=given), path)

    def post(self, path: str, body: Any) -> Any:
        """The JSON a route answers to `body`."""
        return self._json(self._send("POST", path, json=body), path)

    def download(self, path: str) -> bytes:
        """The bytes of a file the API serves (a report, a plot)."""
        return self._send("GET", path).content

    def events(self, path: str, last_event_id: str | None) -> Iterator[Event]:
        """The server-sent events of a stream, from after `last_event_id` when given, until the server ends it."""
        headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
        timeout = httpx.Timeout(TIMEOUT_S, read=STREAM_READ_TIMEOUT_S)
        with self._reaching(), self.http.stream("GET", path, headers=headers, timeout=timeout) as response:
            if not response.is_success:
                response.read()
            raise_for_error(response)
            yield from parse_events(response.iter_lines())

    def _send(self, method: str, path: str, **request: Any) -> httpx.Response:
        """One request; an error status raises Refused."""
        with self._reaching():
            response = self.http.request(method, path, **request)
        raise_for_error(response)
        return response

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Transport failures as one line naming the URL."""
        try:
            yield
        except httpx.TimeoutException as error:
            raise Unreachable(f"the API at {self.url} did not answer in time") from error
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise Unreachable(
                f"cannot reach the API at {self.url} ({reason}): is `bnlab serve` running there? (--url, BNLAB_URL)"
            ) from error

    def _json(self, response: httpx.Response, path: str) -> Any:
        """The answer's JSON; anything else means --url is not the bnlab API."""
        try:
            return response.json()
        except ValueError as error:
            raise ClientError(f"{self.url}{path} did not answer JSON: is {self.url} the bnlab API?") from error


def _checked(url: str) -> str:
    """An http(s) URL, or a message saying what --url must look like."""
    try:
        scheme = httpx.URL(url).scheme
    except httpx.InvalidURL:
        scheme = ""
    if scheme not in ("http", "https"):
        raise ClientError(f"--url must be an http:// or https:// URL, not {url!r}")
    return url


def raise_for_error(response: httpx.Response) -> None:
    """An error status as Refused, with the API's message (or the start of a foreign server's answer)."""
    if response.is_success:
        return
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = " ".join(response.text.split())[:200] or response.reason_phrase
    raise Refused(response.status_code, message)
