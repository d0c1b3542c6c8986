"""The service's Reporter: metric batches and checkpoints through the store (written behind the training thread),
progress and cancel via the heartbeat, a pause when the worker stops."""

import io
from typing import Any

import torch

from worker import hand_back
from worker.engine import MetricPoint, Reporter
from worker.heartbeat import Heartbeat
from worker.write_behind import WriteBehind


class DatabaseReporter(Reporter):
    """Each write is its own short, holder-checked transaction (rule 3), made by `writes`' thread; the heartbeat
    thread keeps the lease. Every call raises first if either thread found the job no longer ours."""

    def __init__(self, writes: WriteBehind, heartbeat: Heartbeat) -> None:
        self.writes, self.heartbeat = writes, heartbeat

    def log(self, points: list[MetricPoint]) -> None:
        """One transaction per batch (rule 5)."""
        self.raise_if_lost()
        rows = [(point.name, point.step, point.value) for point in points]
        self.writes.put(lambda lease: lease.write_points(rows))

    def progress(self, step: int, total: int) -> None:
        """Only noted here: the heartbeat writes it."""
        self.raise_if_lost()
        self.heartbeat.fraction = step / total

    def should_stop(self) -> bool:
        """The cancel flag as the heartbeat last read it (rule 6)."""
        return self.heartbeat.cancel_requested

    def should_pause(self) -> bool:
        """This worker is stopping (worker/hand_back.py): checkpoint and give the job back to the queue."""
        return hand_back.requested.is_set()

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Serialized whole here (the next step changes the tensors), then stored in one transaction that also drops
        the older one: never a torn checkpoint."""
        self.raise_if_lost()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        self.writes.put(lambda lease: lease.save_checkpoint(step, data))

    def drain(self) -> None:
        """Wait for every write asked for: training has ended, and its end is recorded after them."""
        self.writes.drain()
        self.raise_if_lost()

    def raise_if_lost(self) -> None:
        """The reason the job must stop that the heartbeat or a write found, if any."""
        self.heartbeat.raise_if_lost()
        self.writes.raise_if_failed()
