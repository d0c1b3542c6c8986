"""The one retry policy of the worker's database work: through a blip of the database, never past the lease."""

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import RetryError, Retrying, before_sleep_log, retry_if_exception, stop_before_delay, wait_exponential

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_WAIT_S = 0.1  # then doubling, up to a tenth of the lease


class DatabaseUnavailable(Exception):
    """The database stayed away for a whole lease: the job is left to its lease, the sweep re-queues it."""

    def __init__(self, lease_s: float) -> None:
        super().__init__(f"the database stayed unreachable for the lease of {lease_s} s")


def is_transient(error: BaseException) -> bool:
    """A connection that failed or dropped (or a database briefly busy): the same work may well succeed again."""
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def with_retries(transaction: Callable[[], T], lease_s: float) -> T:
    """Run `transaction` (a whole one: a failed try is rolled back) again after transient errors, for one lease.

    Past the lease the sweep may have re-queued the job: then it is no longer this worker's to write for.
    """
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=FIRST_WAIT_S, max=lease_s / 10),
        stop=stop_before_delay(lease_s),
        before_sleep=before_sleep_log(log, logging.WARNING),
    )
    try:
        return retrying(transaction)
    except RetryError as error:
        raise DatabaseUnavailable(lease_s) from error.last_attempt.exception()
