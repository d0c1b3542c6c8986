"""The service's Reporter: metric batches, progress, lease, cancel flag and checkpoints, all through the store."""

import os
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import torch
from sqlalchemy.orm import Session

from contracts.settings import Settings
from store import CheckpointRepository, MetricRepository, SessionFactory, session_scope, states
from worker.engine import MetricPoint, Reporter

SYNC_S = 1.0  # progress, lease renewal and cancel poll at most this often, however fast the steps are


def checkpoint_path(job_id: UUID, step: int) -> Path:
    """A checkpoint's place relative to the data dir (recorded relative, so the data dir may move)."""
    return Path("checkpoints") / str(job_id) / f"step-{step}.pt"


class DatabaseReporter(Reporter):
    """Each database call is its own short transaction (rule 3): nothing stays open while the engine trains."""

    def __init__(self, factory: SessionFactory, job_id: UUID, worker: str, settings: Settings) -> None:
        self.factory, self.job_id, self.worker = factory, job_id, worker
        self.lease_s, self.data_dir = settings.lease_s, settings.data_dir
        self.fraction, self.cancel_requested = 0.0, False
        self.synced_at = time.monotonic()

    def log(self, points: list[MetricPoint]) -> None:
        """One transaction per batch (rule 5), with a heartbeat."""
        with session_scope(self.factory) as session:
            MetricRepository(session).upsert(self.job_id, [(point.name, point.step, point.value) for point in points])
            self._heartbeat(session)

    def progress(self, step: int, total: int) -> None:
        """A heartbeat when due, so the lease outlives a long stretch between evaluations."""
        self.fraction = step / total
        if time.monotonic() - self.synced_at >= SYNC_S:
            with session_scope(self.factory) as session:
                self._heartbeat(session)

    def should_stop(self) -> bool:
        """The cancel flag as the last heartbeat read it (rule 6)."""
        return self.cancel_requested

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Written whole, then recorded, then older files removed: a crash at any point leaves one to resume from."""
        relative = checkpoint_path(self.job_id, step)
        path = self.data_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.partial")
        torch.save(state, partial)
        os.replace(partial, path)
        with session_scope(self.factory) as session:
            CheckpointRepository(session).record(self.job_id, step, str(relative))
        for older in path.parent.iterdir():
            if older != path:
                older.unlink(missing_ok=True)

    def _heartbeat(self, session: Session) -> None:
        """Progress and a fresh lease; the job read back carries the cancel flag."""
        job = states.heartbeat(session, self.job_id, self.fraction, self.lease_s, worker=self.worker)
        self.cancel_requested = job.cancel_requested
        self.synced_at = time.monotonic()
