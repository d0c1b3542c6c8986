"""The pure training engine: spec -> model, data, loop, metrics, checkpoints (no Celery, no SQL)."""

from worker.engine.loop import Summary, train
from worker.engine.reporter import MetricPoint, Reporter

__all__ = ["MetricPoint", "Reporter", "Summary", "train"]
