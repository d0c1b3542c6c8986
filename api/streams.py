"""Open event streams per owner in this API process, so that one tenant cannot take every connection and poll."""

from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from api.deps import Owner
from api.errors import too_many_requests

STREAM_RETRY_AFTER_S = 10  # a slot frees when one of the caller's streams ends: they know when, we do not


class StreamSlots:
    """Counted in memory (per process): a slot is taken before a stream starts and given back when it ends.

    Used only from the event loop (async dependencies), so a plain counter needs no lock.
    """

    def __init__(self, limit: int):
        self.limit, self.open = limit, Counter[str]()

    def take(self, owner: str) -> None:
        """One more open stream for `owner`, or 429 when they have `limit` already."""
        if self.open[owner] >= self.limit:
            message = (
                f"you have {self.limit} event streams open on this server, the most allowed (BNLAB_MAX_STREAMS): "
                "close one, or follow several jobs by polling GET /v1/jobs"
            )
            raise too_many_requests("too_many_streams", message, STREAM_RETRY_AFTER_S)
        self.open[owner] += 1

    def give_back(self, owner: str) -> None:
        """The stream ended (the job finished, or the client went away)."""
        self.open[owner] -= 1
        if not self.open[owner]:
            del self.open[owner]


async def stream_slot(owner: Owner, request: Request) -> AsyncIterator[None]:
    """Hold one of the caller's slots for as long as the response streams (torn down after it ends)."""
    slots: StreamSlots = request.app.state.streams
    slots.take(owner)
    try:
        yield
    finally:
        slots.give_back(owner)


StreamSlot = Annotated[None, Depends(stream_slot)]
