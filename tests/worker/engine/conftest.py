"""Shared by the engine's training tests: one data directory per session, small specs, a collecting reporter."""

import io
from typing import Any

import pytest
import torch

from contracts.spec import JobSpec
from worker.engine import MetricPoint, Reporter

# Measured time (wall clock and CPU): the only metrics and summary fields that differ between runs.
WALL_CLOCK = {"step_time_ms", "step_cpu_ms", "examples_per_s"}
MEASURED_SUMMARY = {
    "wall_time_s",
    "cpu_time_s",
    "train_step_ms",
    "train_step_cpu_ms",
    "inference_us_per_example",
    "folded_inference_us_per_example",
}
TINY = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [16, 16]},
    "training": {"steps": 20, "batch_size": 32, "eval_every": 5},
}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """One data directory per session, so mnist1d is generated once."""
    return tmp_path_factory.mktemp("engine-data")


def tiny_spec(**sections: dict) -> JobSpec:
    """A spirals MLP that trains in milliseconds; each keyword updates that section of the spec."""
    return JobSpec.model_validate({**TINY, **{key: {**TINY.get(key, {}), **value} for key, value in sections.items()}})


class Collector(Reporter):
    """Keeps every point and checkpoint (serialized at once, as a real reporter must); stops after `stop_after`
    steps, or pauses after `pause_after`."""

    def __init__(self, stop_after: int | None = None, pause_after: int | None = None) -> None:
        self.points: list[MetricPoint] = []
        self.checkpoints: dict[int, bytes] = {}
        self.stop_after, self.pause_after, self.step = stop_after, pause_after, 0

    def log(self, points: list[MetricPoint]) -> None:
        self.points += points

    def progress(self, step: int, total: int) -> None:
        self.step = step

    def should_stop(self) -> bool:
        return self.stop_after is not None and self.step >= self.stop_after

    def should_pause(self) -> bool:
        return self.pause_after is not None and self.step >= self.pause_after

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        self.checkpoints[step] = buffer.getvalue()

    def checkpoint(self, step: int | None = None) -> dict[str, Any]:
        """The checkpoint of `step` (default: the last one), loaded."""
        step = max(self.checkpoints) if step is None else step
        return torch.load(io.BytesIO(self.checkpoints[step]), weights_only=True)

    def deterministic(self) -> list[tuple[int, str, float]]:
        """The points that must repeat bit for bit: all but the wall-clock ones."""
        return [(p.step, p.name, p.value) for p in self.points if p.name not in WALL_CLOCK]

    def series(self, name: str) -> dict[int, float]:
        """One metric by step."""
        return {p.step: p.value for p in self.points if p.name == name}


def unmeasured(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without its measured times: what must repeat bit for bit."""
    return {key: value for key, value in summary.items() if key not in MEASURED_SUMMARY}


def assert_same_tensors(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> None:
    """Two state_dicts with the same keys and bit-identical tensors (weights and buffers)."""
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
