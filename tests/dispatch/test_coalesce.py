"""Dispatch requests made while a pass runs join its next pass; a failed pass leaves later requests running."""

import threading

import pytest

from dispatch.coalesce import Coalesced


class Passes:
    """Records each owner a pass ran for; the first pass blocks until released, so requests pile up behind it."""

    def __init__(self, fail_first: bool = False) -> None:
        self.ran: list[str | None] = []
        self.started, self.release = threading.Event(), threading.Event()
        self.fail_first = fail_first

    def __call__(self, owner: str | None) -> None:
        self.ran.append(owner)
        if len(self.ran) == 1:
            self.started.set()
            assert self.release.wait(timeout=30)
            if self.fail_first:
                raise ConnectionError("database down")


def request_in_thread(coalesced: Coalesced, owner: str | None) -> threading.Thread:
    """Make a request from a thread of its own, as the API's pool does, and let it run."""
    thread = threading.Thread(target=coalesced, args=(owner,))
    thread.start()
    return thread


def test_a_request_with_no_pass_under_way_runs_at_once():
    passes = Passes()
    passes.release.set()
    Coalesced(passes)("alice")
    assert passes.ran == ["alice"]


def test_requests_made_during_a_pass_are_run_by_its_next_pass():
    passes = Passes()
    coalesced = Coalesced(passes)
    first = request_in_thread(coalesced, "alice")
    assert passes.started.wait(timeout=30)
    for owner in ["bob", "alice", "bob", "carol"]:
        coalesced(owner)  # returns at once: the pass under way will run it
    assert passes.ran == ["alice"]
    passes.release.set()
    first.join(timeout=30)
    assert passes.ran == ["alice", "alice", "bob", "carol"]  # one more pass, each owner once


def test_a_request_for_every_owner_covers_the_owners_requested_with_it():
    passes = Passes()
    coalesced = Coalesced(passes)
    first = request_in_thread(coalesced, "alice")
    assert passes.started.wait(timeout=30)
    coalesced("bob")
    coalesced(None)
    passes.release.set()
    first.join(timeout=30)
    assert passes.ran == ["alice", None]


def test_a_failed_pass_raises_and_the_next_request_runs_again():
    passes = Passes(fail_first=True)
    coalesced = Coalesced(passes)
    passes.release.set()
    with pytest.raises(ConnectionError):
        coalesced("alice")
    coalesced("bob")
    assert passes.ran == ["alice", "bob"]
