"""The pure training engine: spec -> model, data, loop, metrics, checkpoints (no Celery, no SQL)."""

from worker.engine.launch import RankLost
from worker.engine.loop import Summary, train
from worker.engine.reporter import MetricPoint, Reporter

__all__ = ["MetricPoint", "RankLost", "Reporter", "Summary", "train"]
