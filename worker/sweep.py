"""The worker's sweep, run beside the pool in its main process: lost jobs back to the queue (rule 7), queued jobs
whose message was never sent or may be lost to the broker (rule 12), and consumed messages out of the embedded broker.
"""

import logging

from contracts.settings import Settings
from dispatch import Dispatcher
from dispatch.broker import purge_consumed
from store import session_scope, sessions_for, states

log = logging.getLogger(__name__)


def sweep(settings: Settings, dispatcher: Dispatcher) -> None:
    """One pass; each part commits on its own, so a failing part does not undo the others."""
    with session_scope(sessions_for(settings.resolved_database_url)) as session:
        lost = states.requeue_lost(session, settings.max_attempts)
    for job_id in lost:
        log.warning("job %s lost its worker (lease expired): queued again", job_id)
    sent = dispatcher.dispatch()
    if sent:
        log.info("sent %d queued job(s) to the broker", len(sent))
    purge_consumed(settings)
