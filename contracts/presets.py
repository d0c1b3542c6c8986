"""The presets: whole experiments by name. `claims` tests the seven claims about batch norm, `paper-fig1` redoes
Figure 1 of Ioffe & Szegedy (2015). Each section serves one or more claims; the analysis reads them by name.

Every section compares `model.norm` none (the baseline) with batchnorm at otherwise equal settings, on 3 seeds;
`small_batches` adds sync_batchnorm and ghost_batchnorm, trained over several processes.
Selections (best learning rate, steps to target) use a validation split of the training data, never the test set.
"""

import copy
from dataclasses import replace
from typing import Any

from contracts.study import PresetStudy, Section, StudyPlan, plan

SEEDS = [0, 1, 2]
NORMS = ["none", "batchnorm"]
BASELINE = {"model.norm": "none"}
SHARED_LR = 0.1  # claim 1 at one shared learning rate: the sweep's value both arms are trained at
LEARNING_RATES = [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]  # three decades
INIT_SCALES = [0.1, 0.3, 1.0, 3.0, 10.0]
DROPOUT = 0.5
PROCESSES = 2  # small_batches trains over this many processes: per-process batches of 2 and 32
SMALL_BATCH_SIZES = [4, 64]
SMALL_BATCH_NORMS = ["none", "batchnorm", "sync_batchnorm", "ghost_batchnorm"]
SMALL_BATCH_LR = 0.01  # at 0.1 with momentum 0.9, batches of 4 fail to learn in every arm
VIRTUAL_BATCH = 2  # ghost BN normalizes groups of 2 even in batches of 64: small statistics at a large batch

# Which sections each claim reads (docs/studies.md explains every rule).
CLAIM_SECTIONS = {
    "faster": ["learning_rate", "learning_rate_digits"],
    "higher_lr": ["learning_rate", "learning_rate_digits"],
    "initialization": ["initialization"],
    "regularization": ["regularization"],
    "cost": ["cost"],
    "covariate_shift": ["covariate_shift"],
    "small_batches": ["small_batches"],
}
TARGETS = {"mnist1d": 0.5, "digits": 0.95}  # validation accuracy that counts as "reached" (steps_to_target)

_MLP = {"arch": "mlp", "hidden": [100, 100, 100], "activation": "relu", "init": {"scheme": "kaiming"}}
_NORMS = {"model.norm": NORMS}
_SGD = {"name": "sgd", "lr": SHARED_LR, "momentum": 0.9}


def _base(dataset: str, steps: int, scale: float, **training: Any) -> dict[str, Any]:
    """A ReLU MLP trained with SGD + momentum, batch 60, evaluated 30 times, with a 20 % validation split."""
    steps = max(20, round(steps * scale))
    return {
        "dataset": {"name": dataset},
        "model": copy.deepcopy(_MLP),
        "optimizer": dict(_SGD),
        "training": {
            "steps": steps,
            "batch_size": 60,
            "eval_every": max(1, steps // 30),
            "validation_split": 0.2,
            "target_accuracy": TARGETS[dataset],
            **training,
        },
    }


def _small_batches(scale: float) -> dict[str, Any]:
    """The MNIST-1D base over PROCESSES processes at a learning rate that batches of 4 can learn with."""
    base = _base("mnist1d", 1500, scale, processes=PROCESSES)
    base["optimizer"]["lr"] = SMALL_BATCH_LR
    base["model"]["norm_options"] = {"virtual_batch_size": VIRTUAL_BATCH}
    return base


def claims_sections(scale: float) -> list[Section]:
    """The seven claims on MNIST-1D, the learning-rate claims on scikit-learn's digits as well."""
    digits = _base("digits", 1000, scale)
    digits["model"]["hidden"] = [100, 100]
    return [
        Section("learning_rate", _base("mnist1d", 1500, scale), {**_NORMS, "optimizer.lr": LEARNING_RATES}),
        Section("learning_rate_digits", digits, {**_NORMS, "optimizer.lr": LEARNING_RATES}),
        Section("initialization", _base("mnist1d", 1500, scale), {**_NORMS, "model.init.scale": INIT_SCALES}),
        Section("regularization", _base("mnist1d", 3000, scale), {**_NORMS, "model.dropout": [0.0, DROPOUT]}),
        Section(
            "cost",
            _base("mnist1d", 1500, scale, measure_inference=True, threads=1),
            {"model.norm": [*NORMS, "torch_batchnorm"]},
        ),
        Section("covariate_shift", _base("mnist1d", 1500, scale, track_ics=True), _NORMS),
        Section(
            "small_batches",
            _small_batches(scale),
            {"model.norm": SMALL_BATCH_NORMS, "training.batch_size": SMALL_BATCH_SIZES},
        ),
    ]


def paper_fig1_sections(scale: float) -> list[Section]:
    """Section 4.1 of the paper: 3 x 100 sigmoid units, batch 60, N(0, 1) weights, BN before the nonlinearity."""
    steps = max(20, round(3000 * scale))
    base = {
        "dataset": {"name": "mnist1d"},
        "model": {
            "arch": "mlp",
            "hidden": [100, 100, 100],
            "activation": "sigmoid",
            "init": {"scheme": "normal", "std": 1.0},
            "norm_options": {"position": "before"},
        },
        "optimizer": {"name": "sgd", "lr": 0.5},
        "training": {"steps": steps, "batch_size": 60, "eval_every": max(1, steps // 30), "track_activations": True},
    }
    return [Section("fig1", base, {"model.norm": NORMS})]


PRESETS = {"claims": claims_sections, "paper-fig1": paper_fig1_sections}
PRESET_NAMES = {"claims": "the claims about batch normalization", "paper-fig1": "Ioffe & Szegedy 2015, Figure 1"}


def preset_plan(request: PresetStudy) -> StudyPlan:
    """The preset's sections at the requested scale, each compared against norm none."""
    sections = [replace(section, baseline=BASELINE) for section in PRESETS[request.preset](request.scale)]
    name = request.name or f"{PRESET_NAMES[request.preset]} (scale {request.scale:g})"
    return plan(sections, SEEDS, name, request.tags, preset=request.preset, scale=request.scale)
