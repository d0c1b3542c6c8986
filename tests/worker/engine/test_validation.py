"""training.validation_split: the last training examples held out, never trained on, and how the loop uses them."""

import numpy as np
import pytest
import torch

from contracts.spec import DatasetSpec, TrainingSpec
from tests.worker.engine.conftest import Collector, tiny_spec
from worker.engine import train
from worker.engine.data import LOADERS, DatasetError, load_dataset
from worker.engine.loop import start_run

TARGET = 0.6  # the tiny run's validation accuracy reaches it at step 4, its test accuracy only at step 28


def test_the_last_examples_of_the_prefix_are_held_out(data_dir):
    full = load_dataset(DatasetSpec(name="spirals"), data_dir)
    data = load_dataset(DatasetSpec(name="spirals", train_size=100), data_dir, TrainingSpec(validation_split=0.25))
    assert (len(data.train_x), len(data.val_x), len(data.test_x)) == (75, 25, 1000)
    assert torch.equal(data.train_y, full.train_y[:75]) and torch.equal(data.val_y, full.train_y[75:100])
    assert torch.equal(data.test_y, full.test_y)


def test_standardization_comes_from_the_examples_trained_on(data_dir):
    raw = LOADERS["spirals"](DatasetSpec(name="spirals"), data_dir)
    data = load_dataset(DatasetSpec(name="spirals"), data_dir, TrainingSpec(validation_split=0.2))
    kept = raw.train_x[:2400]
    mean, std = kept.mean(axis=0), kept.std(axis=0)
    for part, x in (("train", kept), ("val", raw.train_x[2400:]), ("test", raw.test_x)):
        expected = torch.from_numpy(((x - mean) / std).astype(np.float32))
        torch.testing.assert_close(getattr(data, f"{part}_x"), expected, rtol=1e-5, atol=1e-5)


def test_no_split_is_the_load_without_one(data_dir):
    """validation_split 0 (the default) changes nothing: same tensors bit for bit, an empty validation set."""
    plain = load_dataset(DatasetSpec(name="digits"), data_dir)
    data = load_dataset(DatasetSpec(name="digits"), data_dir, TrainingSpec())
    assert torch.equal(data.train_x, plain.train_x) and torch.equal(data.test_x, plain.test_x)
    assert data.val_x.shape == (0, 1, 8, 8) and data.val_y.shape == (0,)


def test_held_out_examples_are_never_trained_on(data_dir):
    run = start_run(tiny_spec(training={"validation_split": 0.2}), data_dir)
    assert len(run.data.train_x) == run.order.size == 2400 and len(run.data.val_x) == 600
    assert int(run.order.order.max()) < 2400


@pytest.mark.parametrize(
    ("sizes", "words"),
    [
        ({"dataset": {"train_size": 40}, "training": {"validation_split": 0.01}}, "holds out none"),
        ({"dataset": {"train_size": 40}, "training": {"validation_split": 0.5}}, "fewer than training.batch_size=32"),
    ],
    ids=["empty-validation", "small-training-part"],
)
def test_a_split_that_leaves_a_part_too_small_names_the_field(data_dir, sizes, words):
    with pytest.raises(DatasetError, match=r"training\.validation_split") as error:
        train(tiny_spec(**sizes), Collector(), data_dir)
    assert words in str(error.value)


def test_validation_scores_at_every_evaluation_and_in_the_summary(data_dir):
    spec = tiny_spec(training={"steps": 23, "eval_every": 5, "validation_split": 0.2, "eval_size": 7})
    reporter = Collector()
    summary = train(spec, reporter, data_dir)
    val, test = reporter.series("val_acc"), reporter.series("test_acc")
    assert set(val) == set(reporter.series("val_loss")) == {5, 10, 15, 20, 23}
    assert all(abs(acc * 7 - round(acc * 7)) < 1e-9 for acc in val.values())  # eval_size bounds validation too
    best = max(val.values())
    assert (summary.final_val_acc, summary.best_val_acc) == (val[23], best)
    assert summary.best_val_step == min(step for step, acc in val.items() if acc == best)
    assert summary.test_acc_at_best_val == test[summary.best_val_step]


def test_without_a_split_nothing_of_validation_appears(data_dir):
    collector = Collector()
    summary = train(tiny_spec(), collector, data_dir)
    assert not {p.name for p in collector.points} & {"val_loss", "val_acc"}
    validation = (summary.final_val_acc, summary.best_val_acc, summary.best_val_step, summary.test_acc_at_best_val)
    assert validation == (None, None, None, None)


def test_the_target_is_reached_by_validation_accuracy(data_dir):
    training = {"steps": 60, "eval_every": 2, "target_accuracy": TARGET, "validation_split": 0.2}
    collector = Collector()
    summary = train(tiny_spec(training=training), collector, data_dir)
    first = min(step for step, acc in collector.series("val_acc").items() if acc >= TARGET)
    assert summary.steps_to_target == first
    assert collector.series("test_acc")[first] < TARGET  # test accuracy alone would not have counted it yet


def test_early_stop_by_validation_accuracy(data_dir):
    training = {"steps": 60, "eval_every": 2, "target_accuracy": TARGET, "early_stop": True, "validation_split": 0.2}
    collector = Collector()
    summary = train(tiny_spec(training=training), collector, data_dir)
    assert summary.stop_reason == "target_reached"
    assert summary.steps_done == summary.steps_to_target == max(collector.series("val_acc"))
    assert collector.series("val_acc")[summary.steps_done] >= TARGET > collector.series("test_acc")[summary.steps_done]
