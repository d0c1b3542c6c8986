"""The retry policy: transient database errors are tried again with backoff, for at most one lease; others at once."""

import math
import time
from itertools import pairwise

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tests.worker.conftest import BLIP
from worker.retry import DatabaseUnavailable, is_transient, with_retries

LEASE_S = 0.5


def failing(times: float, error: Exception = BLIP):
    """A transaction that raises `error` its first `times` calls, then returns how often it was called."""
    calls = []

    def transaction() -> int:
        calls.append(time.monotonic())
        if len(calls) <= times:
            raise error
        return len(calls)

    return transaction, calls


def test_what_counts_as_transient():
    invalidated = DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert is_transient(BLIP) and is_transient(invalidated)
    assert not is_transient(DBAPIError("SELECT 1", {}, Exception("syntax")))
    assert not is_transient(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not is_transient(ValueError("not the database"))


def test_a_blip_is_retried_with_growing_waits_until_it_works():
    transaction, calls = failing(3)
    assert with_retries(transaction, lease_s=60) == 4
    waits = [later - earlier for earlier, later in pairwise(calls)]
    assert waits[0] >= 0.1 and waits[1] >= 0.2 and waits[2] >= 0.4


def test_a_database_away_for_the_whole_lease_gives_up_within_it():
    transaction, calls = failing(math.inf)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as error:
        with_retries(transaction, lease_s=LEASE_S)
    assert time.monotonic() - started < 2 * LEASE_S and len(calls) > 1  # the lease, and the last try
    assert isinstance(error.value.__cause__, OperationalError)


def test_an_error_that_is_not_transient_is_raised_at_once():
    refused = IntegrityError("INSERT", {}, Exception("duplicate"))
    transaction, calls = failing(math.inf, refused)
    with pytest.raises(IntegrityError):
        with_retries(transaction, lease_s=60)
    assert len(calls) == 1
