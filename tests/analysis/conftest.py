"""Synthetic reports in the shape build_report returns: the claims preset's sections, a fig1 section, a grid study."""

import itertools
import math
from typing import Any

import numpy as np
import pytest

STEPS = list(range(0, 1501, 100))
LRS = [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
SCALES = [0.1, 0.3, 1.0, 3.0, 10.0]


def _stat(mean: float, spread: float = 0.01, n: int = 3) -> dict[str, float]:
    """A summary aggregate with a symmetric interval."""
    return {"mean": mean, "std": spread, "n": n, "ci_low": mean - 2 * spread, "ci_high": mean + 2 * spread}


def _curve(values: np.ndarray, spread: float, steps: list[int] = STEPS, n: int = 3) -> dict[str, list[float]]:
    """A curve aggregate: mean with a band."""
    return {
        "steps": list(steps),
        "mean": values.tolist(),
        "low": (values - spread).tolist(),
        "high": (values + spread).tolist(),
        "n": [n] * len(steps),
    }


def _learning(rng: np.random.Generator, rate: float, final: float, val: bool = True) -> dict[str, Any]:
    """Loss falling and accuracy rising towards `final`, with some noise."""
    t = np.array(STEPS, dtype=float)
    progress = 1 - np.exp(-rate * t / 300)
    accuracy = 0.1 + (final - 0.1) * progress + rng.normal(0, 0.005, len(t))
    curves = {
        "train_loss": _curve(2.3 * np.exp(-rate * t / 400) + 0.05, 0.02),
        "test_acc": _curve(accuracy, 0.01),
    }
    if val:
        curves["val_acc"] = _curve(accuracy + 0.01, 0.01)
    return curves


def _cell(section: str, values: dict[str, Any], summary: dict[str, Any], curves: dict[str, Any], **counts: Any):
    """A cell of 3 succeeded runs unless told otherwise."""
    statuses = counts.pop("counts", {"succeeded": 3})
    return {
        "section": section,
        "values": values,
        "job_ids": [f"{section}-{index}" for index in range(sum(statuses.values()))],
        "counts": statuses,
        "n": counts.get("n", 3),
        "diverged": counts.get("diverged", 0),
        "failed_to_learn": counts.get("failed_to_learn", 0),
        "summary": summary,
        "comparison": None
        if values.get("model.norm", "none") == "none"
        else {
            "baseline": {**values, "model.norm": "none"},
            "fields": {"final_test_acc": {"difference": 0.05, "ci_low": 0.01, "ci_high": 0.09, "ratio": 1.07}},
        },
        "curves": curves,
    }


def _learning_rate_cells(rng: np.random.Generator) -> list[dict[str, Any]]:
    """norm x lr: without BN the top two rates diverge (the top one entirely, so it has no summary)."""
    cells = []
    for norm, lr in itertools.product(["none", "batchnorm"], LRS):
        final = 0.6 + 0.1 * (norm == "batchnorm") - 0.05 * abs(math.log10(lr) + 1)
        values = {"model.norm": norm, "optimizer.lr": lr}
        summary = {
            "final_test_acc": _stat(final),
            "test_acc_at_best_val": _stat(final + 0.01),
            "steps_to_target": _stat(600 / (1 + lr)),
        }
        if norm == "none" and lr == 3.0:
            cells.append(_cell("learning_rate", values, {}, {}, n=0, diverged=3))
        elif norm == "none" and lr == 1.0:
            cells.append(_cell("learning_rate", values, summary, _learning(rng, lr, final), n=2, diverged=1))
        else:
            cells.append(_cell("learning_rate", values, summary, _learning(rng, lr + 0.1, final)))
    return cells


def _initialization_cells(rng: np.random.Generator) -> list[dict[str, Any]]:
    """norm x init scale, no validation split: only final_test_acc; large scales fail to learn without BN."""
    cells = []
    for norm, scale in itertools.product(["none", "batchnorm"], SCALES):
        bad = norm == "none" and scale >= 3.0
        final = 0.1 if bad else 0.65
        values = {"model.norm": norm, "model.init.scale": scale}
        curves = _learning(rng, 0.01 if bad else 1.0, final, val=False)
        cells.append(_cell("initialization", values, {"final_test_acc": _stat(final)}, curves, failed_to_learn=3 * bad))
    return cells


def _regularization_cells(rng: np.random.Generator) -> list[dict[str, Any]]:
    """norm x dropout with train/test accuracy and the gap."""
    cells = []
    for norm, dropout in itertools.product(["none", "batchnorm"], [0.0, 0.5]):
        train, test = 0.95 - 0.1 * dropout, 0.7 + 0.02 * (norm == "batchnorm")
        summary = {
            "final_train_acc": _stat(train),
            "final_test_acc": _stat(test),
            "generalization_gap": _stat(train - test, 0.02),
        }
        values = {"model.norm": norm, "model.dropout": dropout}
        cells.append(_cell("regularization", values, summary, _learning(rng, 1.0, test)))
    return cells


def _cost_cells(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Three norms' step and inference times; the batch norms fold."""
    cells = []
    for index, norm in enumerate(["none", "batchnorm", "torch_batchnorm"]):
        summary = {
            "train_step_cpu_ms": _stat(1.0 + 0.3 * index, 0.05),
            "inference_us_per_example": _stat(2.0 + 0.5 * index, 0.1),
        }
        if norm != "none":
            summary["folded_inference_us_per_example"] = _stat(2.05, 0.1)
        cells.append(_cell("cost", {"model.norm": norm}, summary, _learning(rng, 1.0, 0.6)))
    return cells


def _covariate_shift_cells(rng: np.random.Generator) -> list[dict[str, Any]]:
    """ICS l2 and cos for h1..h3 and the head."""
    cells = []
    t = np.array(STEPS, dtype=float)
    for norm in ["none", "batchnorm"]:
        curves = _learning(rng, 1.0, 0.65)
        for depth, layer in enumerate(["h1", "h2", "h3", "out"]):
            l2 = (0.5 + depth) * (1.5 if norm == "none" else 1.0) * np.exp(-t / 800) + 0.01
            curves[f"ics/{layer}/l2"] = _curve(l2, 0.05 * l2)
            curves[f"ics/{layer}/cos"] = _curve(np.full(len(t), 0.9), 0.02)
        cells.append(_cell("covariate_shift", {"model.norm": norm}, {"final_test_acc": _stat(0.65)}, curves))
    return cells


def _small_batch_cells(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Four norms x batch 4 and 64 over 2 processes: per-process BN falls apart at 2 examples a process."""
    cells = []
    for norm, batch in itertools.product(["none", "batchnorm", "sync_batchnorm", "ghost_batchnorm"], [4, 64]):
        final = 0.6 if batch == 64 or norm == "none" else 0.5 if norm == "sync_batchnorm" else 0.2
        values = {"model.norm": norm, "training.batch_size": batch}
        cells.append(_cell("small_batches", values, {"final_test_acc": _stat(final)}, _learning(rng, 1.0, final)))
    return cells


def _fig1_cells(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Activation percentiles of h1..h3: without BN the distribution drifts, with BN it stays put."""
    cells = []
    t = np.array(STEPS, dtype=float)
    for norm in ["none", "batchnorm"]:
        curves = _learning(rng, 1.0, 0.7, val=False)
        for layer in ["h1", "h2", "h3"]:
            drift = t * (0.0 if norm == "batchnorm" else 1 / 1000)
            for key, level in {"p15": -1.0, "p50": 0.0, "p85": 1.0, "mean": 0.0, "std": 1.0}.items():
                curves[f"act/{layer}/{key}"] = _curve(level * (1 + drift) + drift, 0.05)
        cells.append(_cell("fig1", {"model.norm": norm}, {"final_test_acc": _stat(0.7)}, curves))
    return cells


CLAIM_PLOTS = {
    "faster": ["curves-learning_rate-val_acc"],
    "higher_lr": ["lr-learning_rate"],
    "initialization": ["init-initialization"],
    "regularization": ["regularization-regularization"],
    "cost": ["cost-cost"],
    "covariate_shift": ["ics-covariate_shift"],
    "small_batches": ["batch-small_batches"],
}


def _claims(verdicts: list[str]) -> list[dict[str, Any]]:
    """One claim per id, verdicts cycling, with nested evidence numbers."""
    return [
        {
            "id": claim,
            "title": f"claim {claim}",
            "statement": f"batch norm makes things {claim}",
            "verdict": verdicts[index % len(verdicts)],
            "rule": "supported when the 95 % interval of (batchnorm - none) excludes 0 and exceeds 0.02",
            "evidence": {
                "learning_rate": {"difference": 0.0512345, "ci_low": 0.01, "ci_high": 0.09, "n": 3},
                "best_lr": {"none": 0.1, "batchnorm": 1.0},
                "wall_time_s": 12.5,
                "note": None,
            },
            "summary": f"The evidence for {claim} is what it is.",
            "plots": plots,
        }
        for index, (claim, plots) in enumerate(CLAIM_PLOTS.items())
    ]


SECTIONS = {
    "learning_rate": {"model.norm": ["none", "batchnorm"], "optimizer.lr": LRS},
    "initialization": {"model.norm": ["none", "batchnorm"], "model.init.scale": SCALES},
    "regularization": {"model.norm": ["none", "batchnorm"], "model.dropout": [0.0, 0.5]},
    "cost": {"model.norm": ["none", "batchnorm", "torch_batchnorm"]},
    "covariate_shift": {"model.norm": ["none", "batchnorm"]},
    "small_batches": {
        "model.norm": ["none", "batchnorm", "sync_batchnorm", "ghost_batchnorm"],
        "training.batch_size": [4, 64],
    },
    "fig1": {"model.norm": ["none", "batchnorm"]},
}


BASES = {"small_batches": {"dataset": {"name": "mnist1d"}, "training": {"processes": 2}}}


def claims_report() -> dict[str, Any]:
    """A complete claims-like report (plus a fig1 section), without its `plots` key."""
    rng = np.random.default_rng(0)
    makers = [
        _learning_rate_cells,
        _initialization_cells,
        _regularization_cells,
        _cost_cells,
        _covariate_shift_cells,
        _small_batch_cells,
        _fig1_cells,
    ]
    cells = [cell for make in makers for cell in make(rng)]
    base = {"dataset": {"name": "mnist1d"}, "model": {"arch": "mlp", "hidden": [100, 100, 100]}}
    return {
        "study_id": "st-claims",
        "name": "the claims about batch normalization (scale 0.1)",
        "preset": "claims",
        "scale": 0.1,
        "partial": False,
        "counts": {"succeeded": sum(cell["counts"].get("succeeded", 0) for cell in cells)},
        "sections": [
            {"name": name, "base": BASES.get(name, base), "grid": grid, "baseline": {"model.norm": "none"}}
            for name, grid in SECTIONS.items()
        ],
        "cells": cells,
        "claims": _claims(["supported", "not_supported", "inconclusive"]),
    }


def grid_report() -> dict[str, Any]:
    """A user's grid study without a norm axis, half finished: two cells have no runs done yet."""
    rng = np.random.default_rng(1)
    grid = {"optimizer.name": ["sgd", "adam"], "training.batch_size": [32, 64]}
    cells = []
    for index, (name, batch) in enumerate(itertools.product(*grid.values())):
        values = {"optimizer.name": name, "training.batch_size": batch}
        if index < 2:
            cells.append(_cell("grid", values, {"final_test_acc": _stat(0.6)}, _learning(rng, 1.0, 0.6, val=False)))
        else:
            cells.append(_cell("grid", values, {}, {}, n=0, counts={"queued": 1, "running": 1}))
    return {
        "study_id": "st-grid",
        "name": "<b>x</b>",
        "preset": None,
        "scale": None,
        "partial": True,
        "counts": {"succeeded": 6, "queued": 2, "running": 2},
        "sections": [
            {
                "name": "grid",
                "base": {"model": {"norm": "layernorm"}},
                "grid": grid,
                "baseline": {"optimizer.name": "sgd"},
            }
        ],
        "cells": cells,
        "claims": [],
    }


@pytest.fixture(scope="session")
def synthetic_claims() -> dict[str, Any]:
    """The claims-like report, shared: tests must not change it."""
    return claims_report()


@pytest.fixture(scope="session")
def synthetic_grid() -> dict[str, Any]:
    """The partial grid study's report, shared: tests must not change it."""
    return grid_report()
