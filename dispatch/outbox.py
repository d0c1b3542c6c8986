"""The one place that puts jobs on the broker (rule 12): the row is committed first, then sent, then recorded.

Submissions, re-queued jobs of lost workers and (later) studies all reach the workers through `dispatch`;
the worker's sweep calls it too, so a message that was never sent, or that the broker lost, is sent again.
A duplicate message is harmless: the claim is atomic, and a worker leaves a job that is not queued alone.
"""

import logging
from collections.abc import Callable
from uuid import UUID

from contracts.queues import queue_for
from contracts.settings import Settings
from dispatch.coalesce import Coalesced
from store import SessionFactory, outbox, read_scope, session_scope

log = logging.getLogger(__name__)

Send = Callable[[UUID, str], None]  # a job id, and the queue of the device it needs


class Dispatcher:
    """Sends due jobs through `send` (Celery's send_task in production) and records each send."""

    def __init__(self, sessions: SessionFactory, send: Send, settings: Settings) -> None:
        self.sessions, self.send = sessions, send
        self.share, self.resend_after_s = settings.dispatch_per_owner, settings.redispatch_s
        self.dispatch_coalesced = Coalesced(self.dispatch)  # what a request runs after its commit

    def dispatch(self, owner: str | None = None) -> list[UUID]:
        """Send what is due (of one owner, or of all); stops at the first failed send, which the next sweep retries."""
        with read_scope(self.sessions) as session:  # a job sent twice is harmless: no lock is needed to choose
            due = outbox.due(session, self.share, self.resend_after_s, owner)
        sent: list[UUID] = []
        for job_id, device in due:
            try:
                self.send(job_id, queue_for(device))
            except Exception:
                log.warning("job %s stays queued: the broker did not take its message (sent again later)", job_id)
                break
            sent.append(job_id)
        if sent:
            with session_scope(self.sessions) as session:
                outbox.mark_dispatched(session, sent)
        return sent
