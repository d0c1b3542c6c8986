"""How a request of the client commands can fail, each as one line the user reads (no httpx: cheap to import)."""


class ClientError(Exception):
    """A request that did not give what the command needs; its text is the whole message shown after `error: `."""

    retryable = False


class Unreachable(ClientError):
    """No answer from the API (refused connection, timeout, dropped stream): trying again may help."""

    retryable = True


class Refused(ClientError):
    """The API answered with an error: its own one-line message and the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.retryable = status in (502, 503, 504)  # a proxy or the database not answering, not the request
