"""A run's evolving state, kept in one place so that a checkpoint is just this, serialized (and resumed exactly)."""

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from contracts.spec import JobSpec
from worker.engine.batches import BatchOrder
from worker.engine.data import Dataset
from worker.engine.device import CPU, rng_state, set_rng_state
from worker.engine.ics import Layer
from worker.engine.metrics import Window
from worker.engine.reporter import MetricPoint
from worker.engine.summary import Summary
from worker.engine.timing import StepTimes

CHECKPOINT_FORMAT = 1


@dataclass
class Run:
    """Everything that evolves during training, so that a checkpoint is just this, serialized."""

    spec: JobSpec
    data: Dataset
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    order: BatchOrder
    summary: Summary
    window: Window = field(default_factory=Window)
    step_times: StepTimes = field(default_factory=StepTimes)
    step: int = 0
    ics_layers: list[Layer] = field(default_factory=list)  # empty unless training.track_ics
    ics_points: list[MetricPoint] = field(default_factory=list)  # measured by a step, logged by its evaluation
    trained: nn.Module | None = None  # what a training step calls: the model, or its DistributedDataParallel
    device: torch.device = CPU

    def state_dict(self, rng_states: list[torch.Tensor] | None = None) -> dict[str, Any]:
        """A resumable snapshot: weights, optimizer, schedule, data order, RNG and metric accumulators.

        `rng_states`: every rank's RNG state, rank 0's first (default: this process's, for a run in one process).
        """
        rng_states = rng_states or [rng_state(self.device)]
        return {
            "format": CHECKPOINT_FORMAT,
            "spec": self.spec.model_dump(mode="json"),
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "order": self.order.state_dict(),
            "torch_rng": rng_states[0],
            "rank_rngs": rng_states[1:],
            "window": self.window.state_dict(),
            "step_times": self.step_times.state_dict(),
            "summary": self.summary.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any], rank: int = 0) -> None:
        """Continue exactly where state_dict left off (same spec required), as rank `rank` of the run.

        A checkpoint from before a field existed resumes with its default: the spec is compared once validated,
        and the accumulators it lacks start at zero.
        """
        if state.get("format") != CHECKPOINT_FORMAT or JobSpec.model_validate(state["spec"]) != self.spec:
            raise ValueError("the checkpoint belongs to another spec or format; start the run afresh")
        self.step = state["step"]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.order.load_state_dict(state["order"])
        set_rng_state(self.device, state["torch_rng"] if rank == 0 else state["rank_rngs"][rank - 1])
        self.window = Window(**state["window"])
        self.step_times = StepTimes(**state.get("step_times", {}))
        self.summary = Summary(**state["summary"])
