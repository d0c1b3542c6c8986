"""Optimizer and learning-rate schedule from the spec."""

import math

import torch
from torch import nn

from contracts.spec import OptimizerSpec, ScheduleSpec


def build_optimizer(model: nn.Module, spec: OptimizerSpec) -> torch.optim.Optimizer:
    """One optimizer over all parameters, with the spec's hyper-parameters."""
    params, common = model.parameters(), {"lr": spec.lr, "weight_decay": spec.weight_decay}
    if spec.name == "sgd":
        return torch.optim.SGD(params, momentum=spec.momentum, nesterov=spec.nesterov, **common)
    if spec.name == "adam":
        return torch.optim.Adam(params, betas=spec.betas, **common)
    if spec.name == "adamw":
        return torch.optim.AdamW(params, betas=spec.betas, **common)
    return torch.optim.RMSprop(params, momentum=spec.momentum, **common)


def lr_factor(schedule: ScheduleSpec, base_lr: float, total_steps: int, step: int) -> float:
    """Multiplier of the base lr for the step about to run (0-based): linear warm-up, then the decay."""
    if step < schedule.warmup_steps:
        return (step + 1) / schedule.warmup_steps
    if schedule.name == "step":
        return schedule.gamma ** ((step - schedule.warmup_steps) // schedule.step_size)
    if schedule.name == "cosine":
        span = max(total_steps - schedule.warmup_steps, 1)
        progress = min((step - schedule.warmup_steps) / span, 1.0)
        floor = schedule.min_lr / base_lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


def build_scheduler(optimizer, schedule: ScheduleSpec, base_lr: float, total_steps: int):
    """A LambdaLR over lr_factor; its state (last step) goes into checkpoints."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(schedule, base_lr, total_steps, step))
