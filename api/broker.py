"""Probes of the broker for /readyz and /metrics: one short try each, never Celery's patient retries."""

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from kombu import Connection

PROBE_TIMEOUT_S = 2.0


@contextmanager
def broker_connection(celery: Celery) -> Iterator[Connection]:
    """A connection tried once (kombu.exceptions.OperationalError if the broker does not answer)."""
    with celery.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_S)
        yield connection


def is_redis(celery: Celery) -> bool:
    """Only Redis keeps the queue as a list whose length is one cheap command."""
    return celery.conf.broker_url.startswith(("redis://", "rediss://"))


def queue_depth(connection: Connection, queue: str) -> int:
    """Messages waiting in a Redis queue (LLEN of its list)."""
    return connection.default_channel.client.llen(queue)
