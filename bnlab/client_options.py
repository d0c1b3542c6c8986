"""What every client command shares: the --url and --key options, and the API client they make (loaded lazily)."""

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from bnlab.client import ApiClient

DEFAULT_URL = "http://127.0.0.1:8000"

Url = Annotated[str, typer.Option(envvar="BNLAB_URL", help="the bnlab API")]
Key = Annotated[
    str | None,
    typer.Option(envvar="BNLAB_API_KEY", show_default=False, help="an API key (`bnlab serve` prints the first one)"),
]


def connect(url: str, key: str | None) -> "ApiClient":
    """The client for `url` with `key`; httpx is imported only by the commands that talk to the API."""
    from bnlab.client import ApiClient

    return ApiClient(url, key)
