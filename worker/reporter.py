"""The service's Reporter: metric batches and checkpoints through the store, progress and cancel via the heartbeat,
a pause when the worker stops."""

import io
from typing import Any

import torch

from worker import hand_back
from worker.engine import MetricPoint, Reporter
from worker.heartbeat import Heartbeat
from worker.held_job import HeldJob


class DatabaseReporter(Reporter):
    """Each write is its own short, holder-checked transaction (rule 3); the heartbeat thread keeps the lease."""

    def __init__(self, held: HeldJob, heartbeat: Heartbeat) -> None:
        self.held, self.heartbeat = held, heartbeat

    def log(self, points: list[MetricPoint]) -> None:
        """One transaction per batch (rule 5)."""
        self.heartbeat.raise_if_lost()
        rows = [(point.name, point.step, point.value) for point in points]
        self.held.write(lambda lease: lease.write_points(rows))

    def progress(self, step: int, total: int) -> None:
        """Only noted here: the heartbeat writes it; raises if the heartbeat found the job is no longer ours."""
        self.heartbeat.raise_if_lost()
        self.heartbeat.fraction = step / total

    def should_stop(self) -> bool:
        """The cancel flag as the heartbeat last read it (rule 6)."""
        return self.heartbeat.cancel_requested

    def should_pause(self) -> bool:
        """This worker is stopping (worker/hand_back.py): checkpoint and give the job back to the queue."""
        return hand_back.requested.is_set()

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Serialized whole, then stored in one transaction that also drops the older one: never a torn checkpoint."""
        self.heartbeat.raise_if_lost()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        self.held.write(lambda lease: lease.save_checkpoint(step, data))
