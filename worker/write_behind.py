"""The training thread's database writes, done in order by a thread of their own, so that training never waits on
a round trip (each metric batch and checkpoint cost the loop a few milliseconds: about 5% of a canonical job).

Every write is still its own short, holder-checked transaction (rule 3), made in the order the engine asked for
it. The first write that fails (TransitionError: the job is no longer ours; DatabaseUnavailable; a bad value)
stops all later ones, and the training thread gets it at its next call, as the heartbeat's reasons reach it.
`drain` waits for every write asked for, so nothing is lost before the job's end is recorded. The queue is
bounded: a database slower than training holds training back instead of piling batches up in memory.
"""

import logging
import queue
import threading
from collections.abc import Callable
from types import TracebackType

from store import JobLease
from worker.held_job import HeldJob

log = logging.getLogger(__name__)

Write = Callable[[JobLease], object]
DEPTH = 16  # writes waiting at most; a canonical job asks for about one per 100 steps


class WriteBehind:
    """Started with the training, closed after it however it ends (a context manager); close writes what is left."""

    def __init__(self, held: HeldJob, depth: int = DEPTH) -> None:
        self.held = held
        self.error: Exception | None = None
        self._queue: queue.Queue[Write | None] = queue.Queue(depth)
        self._thread = threading.Thread(target=self._write_until_closed, name=f"bnlab-writes-{held.job_id}")

    def __enter__(self) -> "WriteBehind":
        """Start the writing thread."""
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        """Write what is queued (unless a write failed), then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def put(self, write: Write) -> None:
        """Queue one write; raises the reason an earlier one failed, and waits while the queue is full."""
        self.raise_if_failed()
        self._queue.put(write)

    def drain(self) -> None:
        """Wait until every queued write is done; raises the reason one failed."""
        self._queue.join()
        self.raise_if_failed()

    def raise_if_failed(self) -> None:
        """Called by the training thread: a write failed, so training must stop for that reason."""
        if self.error is not None:
            raise self.error

    def _write_until_closed(self) -> None:
        """Each queued write in order until the close; after a failure the rest are dropped, not written."""
        while (write := self._queue.get()) is not None:
            try:
                if self.error is None:
                    self.held.write(write)
            except Exception as error:  # mostly TransitionError or DatabaseUnavailable; the training thread decides
                log.warning("job %s: a write failed, later ones are dropped: %s", self.held.job_id, error)
                self.error = error
            finally:
                self._queue.task_done()
        self._queue.task_done()
