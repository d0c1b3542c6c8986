"""The training loop: determinism, the metrics it logs, and how a run ends (done, target, cancel, divergence)."""

import math
from typing import get_args

import pytest
import torch

from contracts.spec import NormKind
from tests.worker.engine.conftest import Collector, assert_same_tensors, tiny_spec
from worker.engine import train
from worker.engine.optim import lr_factor

METRICS = {
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "lr",
    "grad_norm",
    "step_time_ms",
    "step_cpu_ms",
    "examples_per_s",
}
QUANTILE_KEYS = ("p15", "p50", "p85", "mean", "std")


def run(spec, data_dir, reporter: Collector | None = None):
    """Train `spec`; returns the summary and the reporter that saw the run."""
    reporter = reporter or Collector()
    return train(spec, reporter, data_dir), reporter


def names_by_step(reporter: Collector) -> dict[int, set[str]]:
    """The metric names logged at each step."""
    steps: dict[int, set[str]] = {}
    for point in reporter.points:
        steps.setdefault(point.step, set()).add(point.name)
    return steps


def test_same_spec_twice_is_bit_identical(data_dir):
    """Points (but measured time) and final weights and buffers repeat exactly, dropout and BN included."""
    spec = tiny_spec(model={"dropout": 0.2}, training={"checkpoint_every": 20})
    (first_summary, first), (second_summary, second) = run(spec, data_dir), run(spec, data_dir)
    assert first.deterministic() == second.deterministic()
    assert_same_tensors(first.checkpoint(20)["model"], second.checkpoint(20)["model"])
    assert first_summary.final_test_acc == second_summary.final_test_acc


def test_metric_names_at_every_evaluation_and_the_last_step(data_dir):
    summary, reporter = run(tiny_spec(training={"steps": 23, "eval_every": 5}), data_dir)
    assert names_by_step(reporter) == {step: METRICS for step in (5, 10, 15, 20, 23)}
    assert (summary.steps_done, summary.stop_reason, summary.diverged) == (23, "completed", False)
    assert summary.final_test_acc == reporter.series("test_acc")[23]
    assert summary.best_test_acc == max(reporter.series("test_acc").values())


def test_activation_quantiles_for_every_hidden_layer(data_dir):
    spec = tiny_spec(model={"hidden": [8, 8, 8]}, training={"track_activations": True, "steps": 10})
    _, reporter = run(spec, data_dir)
    layers = {f"act/h{index}/{key}" for index in (1, 2, 3) for key in QUANTILE_KEYS}
    assert names_by_step(reporter) == {5: METRICS | layers, 10: METRICS | layers}
    for step in (5, 10):
        for index in (1, 2, 3):
            p15, p50, p85 = (reporter.series(f"act/h{index}/{key}")[step] for key in ("p15", "p50", "p85"))
            assert p15 <= p50 <= p85


def test_activation_quantiles_of_a_large_layer(data_dir):
    """The probe's 256 x 1040 channels x 8 x 8 values exceed torch.quantile's 2**24-element input limit."""
    spec = tiny_spec(
        dataset={"name": "digits"},
        model={"arch": "cnn", "channels": [1040], "kernel_size": 1, "norm": "none"},
        training={"steps": 1, "batch_size": 2, "eval_every": 1, "eval_size": 2, "track_activations": True},
    )
    summary, reporter = run(spec, data_dir)
    assert summary.steps_done == 1
    assert reporter.series("act/c1/p15")[1] <= reporter.series("act/c1/p50")[1] <= reporter.series("act/c1/p85")[1]


@pytest.mark.parametrize("eval_every", [1, 5])
@pytest.mark.parametrize(
    "model",
    [
        {"norm": "none", "activation": "identity"},
        {"norm": "none", "activation": "identity", "init": {"scale": 100}},
        {"norm": "none", "activation": "relu", "init": {"scale": 100}},
        {"norm": "batchnorm", "activation": "identity"},
    ],
    ids=["identity", "identity-scale100", "relu-scale100", "batchnorm-identity"],
)
def test_divergence_is_an_outcome_without_non_finite_points(data_dir, model, eval_every):
    """A huge lr ends the run as diverged; nothing non-finite is logged, even when it shows first in an evaluation."""
    spec = tiny_spec(model=model, optimizer={"lr": 100}, training={"steps": 100, "eval_every": eval_every})
    summary, reporter = run(spec, data_dir)
    assert summary.diverged and summary.stop_reason == "diverged"
    assert 1 <= summary.diverged_at_step <= summary.steps_done + 1 < 100
    assert all(math.isfinite(p.value) for p in reporter.points)
    assert all(p.step < summary.diverged_at_step for p in reporter.points)


def test_steps_to_target_is_the_first_evaluation_that_reaches_it(data_dir):
    spec = tiny_spec(training={"steps": 60, "eval_every": 2, "target_accuracy": 0.6})
    summary, reporter = run(spec, data_dir)
    first = min(step for step, acc in reporter.series("test_acc").items() if acc >= 0.6)
    assert summary.steps_to_target == first < 60
    assert summary.steps_done == 60 and summary.stop_reason == "completed"


def test_early_stop_ends_at_the_target(data_dir):
    spec = tiny_spec(training={"steps": 60, "eval_every": 2, "target_accuracy": 0.6, "early_stop": True})
    summary, reporter = run(spec, data_dir)
    assert summary.stop_reason == "target_reached"
    assert summary.steps_done == summary.steps_to_target == max(reporter.series("test_acc"))
    assert reporter.series("test_acc")[summary.steps_to_target] >= 0.6


def test_stop_request_ends_the_run_as_cancelled(data_dir):
    summary, reporter = run(tiny_spec(), data_dir, Collector(stop_after=7))
    assert (summary.stop_reason, summary.steps_done) == ("cancelled", 7)
    assert set(names_by_step(reporter)) == {5}


def test_logged_lr_follows_the_schedule(data_dir):
    """The lr logged at step s is the one step s ran with (0-based step s - 1)."""
    spec = tiny_spec(schedule={"name": "cosine", "warmup_steps": 4, "min_lr": 0.01}, training={"eval_every": 1})
    _, reporter = run(spec, data_dir)
    expected = {step: 0.1 * lr_factor(spec.schedule, 0.1, 20, step - 1) for step in range(1, 21)}
    assert reporter.series("lr") == expected


def test_grad_clip_changes_training_and_grad_norm_is_measured_before_clipping(data_dir):
    clipped = tiny_spec(training={"eval_every": 1, "grad_clip": 1e-3})
    _, free = run(tiny_spec(training={"eval_every": 1}), data_dir)
    _, capped = run(clipped, data_dir)
    assert capped.series("grad_norm")[1] == free.series("grad_norm")[1] > 1e-3  # same model, same first batch
    assert capped.series("test_loss")[20] != free.series("test_loss")[20]


@pytest.mark.parametrize("norm", get_args(NormKind))
def test_every_norm_trains_an_mlp(data_dir, norm):
    spec = tiny_spec(model={"norm": norm, "norm_options": {"virtual_batch_size": 8}}, training={"steps": 5})
    summary, _ = run(spec, data_dir)
    assert (summary.steps_done, summary.diverged) == (5, False)


@pytest.mark.parametrize("dataset", ["mnist1d", "digits"])
@pytest.mark.parametrize(
    "model",
    [{"arch": "cnn", "channels": [4, 8]}, {"arch": "resnet", "stages": [4, 8], "blocks": 1}],
    ids=["cnn", "resnet"],
)
def test_batchnorm_trains_convolutional_models(data_dir, model, dataset):
    training = {"steps": 3, "batch_size": 16, "eval_every": 3, "eval_size": 64, "track_activations": True}
    spec = tiny_spec(dataset={"name": dataset}, model={**model, "norm": "batchnorm"}, training=training)
    summary, reporter = run(spec, data_dir)
    assert (summary.steps_done, summary.diverged) == (3, False)
    assert all(math.isfinite(p.value) for p in reporter.points)


def test_fewer_examples_than_a_batch_names_training_batch_size(data_dir):
    with pytest.raises(ValueError, match=r"training\.batch_size"):
        train(tiny_spec(dataset={"train_size": 10}), Collector(), data_dir)


def test_train_restores_the_thread_count(data_dir):
    """training.threads applies to the run only."""
    before = torch.get_num_threads()
    train(tiny_spec(training={"steps": 1, "eval_every": 1, "threads": before + 1}), None, data_dir)
    assert torch.get_num_threads() == before
