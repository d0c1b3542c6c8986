"""What a run measures: training averages since the last evaluation, eval-mode scores, activation quantiles."""

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from worker.engine.reporter import MetricPoint

EVAL_CHUNK = 1024
QUANTILES = ("p15", "p50", "p85")
QUANTILE_LEVELS = torch.tensor([0.15, 0.50, 0.85])
MAX_QUANTILE_VALUES = 1 << 13  # quantiles of a larger layer come from an evenly strided subsample


@dataclass
class Window:
    """Sums over the training steps since the last evaluation (checkpointed, so resumes stay exact)."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # absent from checkpoints written before it was measured: those windows count 0
    steps: int = 0
    grad_norm: float = 0.0
    lr: float = 0.0

    def add(
        self, loss: float, correct: int, seen: int, times: tuple[float, float], grad_norm: float | None, lr: float
    ) -> None:
        """Account one optimizer step (times: wall, CPU seconds); the loss is the batch mean, weighted by its size."""
        self.loss_sum += loss * seen
        self.correct += correct
        self.seen += seen
        self.seconds += times[0]
        self.cpu_seconds += times[1]
        self.steps += 1
        self.lr = lr
        if grad_norm is not None:
            self.grad_norm = grad_norm

    def points(self, step: int) -> list[MetricPoint]:
        """train_loss, train_acc, lr and grad_norm (of the last step), step_time_ms, step_cpu_ms and examples_per_s."""
        values = {
            "train_loss": self.loss_sum / self.seen,
            "train_acc": self.correct / self.seen,
            "lr": self.lr,
            "grad_norm": self.grad_norm,
            "step_time_ms": 1e3 * self.seconds / self.steps,
            "step_cpu_ms": 1e3 * self.cpu_seconds / self.steps,
            "examples_per_s": self.seen / self.seconds if self.seconds > 0 else 0.0,
        }
        return [MetricPoint(name, step, float(value)) for name, value in values.items()]

    def state_dict(self) -> dict:
        return asdict(self)


class Score(NamedTuple):
    """Mean cross-entropy and accuracy of one evaluation."""

    loss: float
    acc: float


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Score:
    """Mean cross-entropy and accuracy in eval mode (running statistics), in fixed-size chunks."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), EVAL_CHUNK):
        logits = model(x[start : start + EVAL_CHUNK])
        target = y[start : start + EVAL_CHUNK]
        loss_sum += nn.functional.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(1) == target).sum().item()
    model.train(was_training)
    return Score(loss_sum / len(x), correct / len(x))


@torch.no_grad()
def activation_points(model: nn.Module, probe: torch.Tensor, step: int) -> list[MetricPoint]:
    """p15/p50/p85/mean/std of each nonlinearity's input on a fixed probe batch (Ioffe & Szegedy, Fig. 1)."""
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        site.register_forward_pre_hook(lambda _m, args, name=name: captured.__setitem__(name, args[0].detach()))
        for name, site in model.activation_sites
    ]
    was_training = model.training
    try:
        model.eval()
        model(probe)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return [point for name, values in captured.items() for point in _distribution(name, values.flatten(), step)]


def _distribution(name: str, flat: torch.Tensor, step: int) -> list[MetricPoint]:
    """Nearest-rank quantiles (one partial sort) of at most MAX_QUANTILE_VALUES values, mean and std."""
    sample = flat[:: -(-len(flat) // MAX_QUANTILE_VALUES)].cpu().numpy()
    ranks = (QUANTILE_LEVELS * (len(sample) - 1)).round().long().tolist()
    stats = dict(zip(QUANTILES, np.partition(sample, ranks)[ranks].tolist(), strict=True))
    stats |= {"mean": flat.mean().item(), "std": flat.std(correction=0).item()}
    return [MetricPoint(f"act/{name}/{key}", step, value) for key, value in stats.items()]
