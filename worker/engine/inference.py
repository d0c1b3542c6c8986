"""What a trained model costs to run: CPU time per example of its eval-mode forward, with batch norm folded or not."""

import statistics
import time
from typing import NamedTuple

import torch
from torch import nn

import bn
from worker.engine.metrics import EVAL_CHUNK

REPEATS = 5  # timed passes after one warm-up; their median resists a stray interruption


class InferenceCost(NamedTuple):
    """CPU microseconds per example, unfolded and folded (None when bn.fold finds nothing to fold), and how far
    the folded model's logits are from the unfolded ones."""

    us_per_example: float
    folded_us_per_example: float | None
    fold_max_abs_diff: float | None


def measure_inference(model: nn.Module, x: torch.Tensor) -> InferenceCost:
    """Time the eval-mode forward over `x`; the model, its mode and torch's RNG state are left as they were."""
    rng, was_training = torch.get_rng_state(), model.training
    model.eval()
    try:
        cost = _us_per_example(model, x)
        folded = bn.fold(model)
        if not folded.fold_report.folded:
            return InferenceCost(cost, None, None)
        difference = (_logits(model, x) - _logits(folded, x)).abs().max().item()
        return InferenceCost(cost, _us_per_example(folded, x), difference)
    finally:
        model.train(was_training)
        torch.set_rng_state(rng)


def _us_per_example(model: nn.Module, x: torch.Tensor) -> float:
    """Median CPU time of REPEATS passes over `x` (after one untimed pass), in microseconds per example."""
    _logits(model, x)
    seconds = []
    for _ in range(REPEATS):
        started = time.process_time()
        _logits(model, x)
        seconds.append(time.process_time() - started)
    return 1e6 * statistics.median(seconds) / len(x)


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The logits of `x`, computed in the chunks evaluation uses."""
    return torch.cat([model(x[start : start + EVAL_CHUNK]) for start in range(0, len(x), EVAL_CHUNK)])
