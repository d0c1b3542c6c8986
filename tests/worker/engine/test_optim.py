"""Optimizers from the spec and the learning-rate schedule (warm-up, then constant, step decay or cosine)."""

import pytest
import torch
from torch import nn

from contracts.spec import OptimizerSpec, ScheduleSpec
from worker.engine.optim import build_optimizer, build_scheduler, lr_factor

BASE_LR, TOTAL = 0.1, 110


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"name": "constant"}, {0: 1.0, 50: 1.0, 109: 1.0}),
        ({"name": "constant", "warmup_steps": 4}, {0: 0.25, 1: 0.5, 3: 1.0, 4: 1.0, 109: 1.0}),
        ({"name": "step", "step_size": 10, "gamma": 0.5}, {0: 1.0, 9: 1.0, 10: 0.5, 25: 0.25, 109: 0.5**10}),
        ({"name": "step", "step_size": 10, "gamma": 0.5, "warmup_steps": 5}, {0: 0.2, 4: 1.0, 14: 1.0, 15: 0.5}),
        ({"name": "cosine"}, {0: 1.0, 55: 0.5, 110: 0.0, 200: 0.0}),
        ({"name": "cosine", "min_lr": 0.01}, {0: 1.0, 55: 0.55, 110: 0.1}),
        ({"name": "cosine", "warmup_steps": 10}, {0: 0.1, 9: 1.0, 10: 1.0, 60: 0.5, 110: 0.0}),
    ],
    ids=["constant", "constant-warmup", "step", "step-warmup", "cosine", "cosine-min_lr", "cosine-warmup"],
)
def test_lr_factor(schedule, expected):
    spec = ScheduleSpec(**schedule)
    got = {step: lr_factor(spec, BASE_LR, TOTAL, step) for step in expected}
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_scheduler_sets_base_lr_times_lr_factor_before_each_step():
    schedule = ScheduleSpec(name="cosine", warmup_steps=3, min_lr=0.01)
    optimizer = build_optimizer(nn.Linear(2, 2), OptimizerSpec(lr=BASE_LR))
    scheduler = build_scheduler(optimizer, schedule, BASE_LR, 20)
    for step in range(20):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(BASE_LR * lr_factor(schedule, BASE_LR, 20, step))
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize(
    ("spec", "kind", "expected"),
    [
        (
            {"name": "sgd", "lr": 0.5, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
            torch.optim.SGD,
            {"lr": 0.5, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
        ),
        (
            {"name": "adam", "lr": 1e-3, "betas": (0.8, 0.99), "weight_decay": 0.01},
            torch.optim.Adam,
            {"lr": 1e-3, "betas": (0.8, 0.99), "weight_decay": 0.01},
        ),
        (
            {"name": "adamw", "lr": 2e-3, "betas": (0.85, 0.95), "weight_decay": 0.1},
            torch.optim.AdamW,
            {"lr": 2e-3, "betas": (0.85, 0.95), "weight_decay": 0.1},
        ),
        (
            {"name": "rmsprop", "lr": 0.01, "momentum": 0.5, "weight_decay": 0.001},
            torch.optim.RMSprop,
            {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.001},
        ),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop"],
)
def test_build_optimizer(spec, kind, expected):
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    optimizer = build_optimizer(model, OptimizerSpec(**spec))
    assert type(optimizer) is kind
    (group,) = optimizer.param_groups
    assert {key: group[key] for key in expected} == expected
    assert group["params"] == list(model.parameters())
