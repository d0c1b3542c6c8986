"""What a run measures after its last step: eval-mode accuracy on the training part, and whether it learned at all."""

import pytest
import torch

from tests.worker.engine.conftest import Collector, tiny_spec
from worker.engine import train
from worker.engine.data import load_dataset
from worker.engine.metrics import evaluate
from worker.engine.models import build_model
from worker.engine.outcome import failed_to_learn
from worker.engine.summary import Summary

# lr 50 kills every ReLU within a few steps; the clipped gradient keeps every value finite: one class for all inputs.
COLLAPSING = {"model": {"norm": "none"}, "optimizer": {"lr": 50}, "training": {"grad_clip": 10.0, "steps": 40}}


@pytest.mark.parametrize(
    ("accuracy", "classes", "failed"),
    [
        (0.1, 10, True),
        (0.19, 10, True),  # chance 0.1 plus a tenth of the remaining 0.9
        (0.191, 10, False),
        (0.0, 3, True),
        (0.399, 3, True),
        (0.401, 3, False),
        (0.56, 2, False),
        (None, 10, False),  # never evaluated: not judged
    ],
)
def test_failed_to_learn_is_at_most_a_tenth_of_the_way_above_chance(accuracy, classes, failed):
    assert failed_to_learn(accuracy, classes) is failed


def test_a_run_that_collapses_without_nan_failed_to_learn(data_dir):
    collector = Collector()
    summary = train(tiny_spec(**COLLAPSING), collector, data_dir)
    assert (summary.diverged, summary.stop_reason, summary.failed_to_learn) == (False, "completed", True)
    accuracies = collector.series("test_acc")
    assert max(accuracies.values()) > 0.4  # it learned something first, then collapsed
    labels = load_dataset(tiny_spec().dataset, data_dir).test_y
    shares = [count / len(labels) for count in torch.bincount(labels).tolist()]
    assert summary.final_test_acc in shares  # every test example gets the same class


def test_a_run_that_learns_did_not_fail_to_learn(data_dir):
    summary = train(tiny_spec(training={"steps": 60}), Collector(), data_dir)
    assert summary.final_test_acc > 0.5 and summary.failed_to_learn is False


def test_a_diverged_run_is_not_judged_and_has_no_training_accuracy(data_dir):
    model = {"norm": "none", "activation": "identity"}
    summary = train(tiny_spec(model=model, optimizer={"lr": 100}, training={"steps": 100}), Collector(), data_dir)
    assert summary.diverged and summary.failed_to_learn is False
    assert (summary.final_train_acc, summary.final_train_loss) == (None, None)


def test_validation_accuracy_is_what_the_outcome_judges():
    assert Summary(final_test_acc=0.9, final_val_acc=0.2).final_acc == 0.2
    assert Summary(final_test_acc=0.9).final_acc == 0.9


@pytest.mark.parametrize(
    "training", [{"eval_size": 50}, {"validation_split": 0.2}, {}], ids=["eval-size", "validation", "plain"]
)
def test_final_training_accuracy_is_an_eval_mode_pass_over_the_training_part(data_dir, training):
    """Running statistics (not the batch's), the final weights, at most eval_size examples, held-out ones excluded."""
    spec = tiny_spec(model={"dropout": 0.3}, training={**training, "checkpoint_every": 20})
    collector = Collector()
    summary = train(spec, collector, data_dir)
    model = build_model(spec)
    model.load_state_dict(collector.checkpoint(20)["model"])
    data = load_dataset(spec.dataset, data_dir, spec.training)
    expected = evaluate(model, *data.first("train", spec.training.eval_size))
    assert (summary.final_train_loss, summary.final_train_acc) == (expected.loss, expected.acc)
    assert summary.final_train_acc != collector.series("train_acc")[20]  # not the running average


def test_final_training_accuracy_after_an_early_stop(data_dir):
    """Measured on the weights the run stopped with: those of a run that is simply that long."""
    training = {"steps": 60, "eval_every": 2, "target_accuracy": 0.6}
    stopped = train(tiny_spec(training={**training, "early_stop": True}), Collector(), data_dir)
    assert stopped.stop_reason == "target_reached" and stopped.steps_done < 60
    as_long = train(tiny_spec(training={**training, "steps": stopped.steps_done}), Collector(), data_dir)
    assert as_long.steps_done == stopped.steps_done
    assert (stopped.final_train_loss, stopped.final_train_acc) == (as_long.final_train_loss, as_long.final_train_acc)
