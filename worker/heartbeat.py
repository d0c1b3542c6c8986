"""The lease renewed from a thread of its own, so that no long step, evaluation, data load or checkpoint outlives it.

Every third of the lease it writes the progress, extends the lease and reads the cancel flag. When the job is
no longer this worker's (TransitionError: re-queued and claimed elsewhere, or finished) or the database stayed
away for a lease (DatabaseUnavailable), it stops beating and keeps the reason; the reporter raises it at the
training loop's next call, so training stops without recording anything more.
"""

import logging
import threading
from types import TracebackType

from worker.held_job import HeldJob

log = logging.getLogger(__name__)


class Heartbeat:
    """Started right after the claim, stopped when training ends however it ends (a context manager)."""

    def __init__(self, held: HeldJob) -> None:
        self.held = held
        self.fraction, self.cancel_requested = 0.0, False
        self.lost: Exception | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name=f"bnlab-heartbeat-{held.job_id}", daemon=True
        )

    def __enter__(self) -> "Heartbeat":
        """Start beating: the first beat comes a third of a lease after the claim."""
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        """Stop beating; a beat under way finishes first (its retries end within the lease)."""
        self._stopped.set()
        self._thread.join()

    def raise_if_lost(self) -> None:
        """Called by the training thread: the job is no longer ours (or unreachable), so training must stop."""
        if self.lost is not None:
            raise self.lost

    def _beat_until_stopped(self) -> None:
        """A beat every third of the lease: two may fail or be late before the lease runs out."""
        while not self._stopped.wait(self.held.lease_s / 3):
            try:
                self._beat()
            except Exception as error:  # mostly TransitionError or DatabaseUnavailable; anything else ends it too
                log.warning("job %s: the heartbeat stopped: %s", self.held.job_id, error)
                self.lost = error
                return

    def _beat(self) -> None:
        """Progress and a fresh lease; the job read back carries the cancel flag (rule 6)."""
        job = self.held.write(lambda lease: lease.renew(self.fraction, self.held.lease_s))
        self.cancel_requested = job.cancel_requested
