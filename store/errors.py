"""What the store refuses, as exceptions the API maps to a 4xx that says what to change."""

import uuid


class StoreError(Exception):
    """Base of every refusal the store raises on purpose."""


class TransitionError(StoreError):
    """A job was not in a status the transition allows (or does not exist): rule 2 fails loudly."""

    def __init__(self, job_id: uuid.UUID, status: str | None, transition: str):
        self.job_id, self.status, self.transition = job_id, status, transition
        found = f"it is {status}" if status else "it does not exist"
        super().__init__(f"cannot {transition} job {job_id}: {found}")


class IdempotencyConflict(StoreError):
    """The Idempotency-Key was already used with another request body."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request; use a new key")


class JobNotFinished(StoreError):
    """Only finished jobs may be deleted: a queued or running one still has a worker's attention."""

    def __init__(self, job_id: uuid.UUID, status: str):
        self.job_id, self.status = job_id, status
        super().__init__(f"job {job_id} is {status}: cancel it and wait until it has finished before deleting it")


class InvalidCursor(StoreError):
    """A pagination cursor that this store did not hand out, or handed out for another order."""

    def __init__(self, cursor: str, reason: str = "this store did not hand it out"):
        self.cursor = cursor
        super().__init__(
            f"invalid cursor ({reason}): pass the next_cursor of a previous page of the same listing, "
            "or none for the first page"
        )


class StudyNotFinished(StoreError):
    """A study is deleted with its jobs, so every one of them must have finished first."""

    def __init__(self, study_id: uuid.UUID, unfinished: int):
        self.study_id, self.unfinished = study_id, unfinished
        super().__init__(
            f"study {study_id} has {unfinished} jobs queued or running: cancel it and wait until they have finished"
        )
