"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, tuned so short jobs are not held up.

Redis pushes a message to a waiting worker; this transport is a table that workers poll. Celery's loop for such
transports acknowledges finished tasks only between two waits of up to 2 s, and a worker at its prefetch limit
takes nothing new meanwhile: each worker ran at most one job per 2 s. Waiting a poll interval at a time keeps the
loop turning (a poll is one small indexed query).
"""

from kombu.transport.sqlalchemy import Transport

POLL_S = 0.1


class EmbeddedTransport(Transport):
    """kombu's SQLAlchemy transport with a short polling interval and waits no longer than one interval."""

    polling_interval = POLL_S

    def drain_events(self, connection, timeout: float | None = None):
        """Wait at most one polling interval, so the worker's loop gets to its pending acknowledgements."""
        return super().drain_events(connection, timeout=min(timeout or POLL_S, POLL_S))
