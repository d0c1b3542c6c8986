"""Folding concurrent dispatch requests into one pass (rule 12): under a burst of submissions, one API process
runs one dispatch at a time, and the submissions committed meanwhile are all sent by its next pass.

Each submission used to run a dispatch of its own: two outbox queries, a send and an update. Under 32
concurrent clients, most of those passes found nothing left to send, or raced each other for the same rows.
"""

import threading
from collections.abc import Callable

Run = Callable[[str | None], object]


class Coalesced:
    """Calls `run(owner)` for each requested owner, one pass at a time; a request made during a pass joins the next."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._lock = threading.Lock()
        self._pending: set[str | None] = set()
        self._running = False

    def __call__(self, owner: str | None = None) -> None:
        """Run now if no pass is under way in this process; otherwise leave the owner to the pass under way."""
        with self._lock:
            self._pending.add(owner)
            if self._running:
                return
            self._running = True
        try:
            while owners := self._take_pending():
                for one in [None] if None in owners else sorted(owners):  # None covers every owner
                    self.run(one)
        except BaseException:
            with self._lock:
                self._running = False
            raise

    def _take_pending(self) -> set[str | None]:
        """The owners requested since the last pass; an empty set also ends the running pass, under the same lock."""
        with self._lock:
            owners, self._pending = self._pending, set()
            self._running = bool(owners)
            return owners
