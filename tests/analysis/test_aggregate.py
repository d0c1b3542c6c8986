"""Cells: which runs are aggregated, counted, compared with which baseline, and curves of unequal length."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.aggregate import cell_report, curve
from analysis.results import CellResult, SectionInfo
from tests.analysis.factory import run

SECTION = SectionInfo(
    "grid", {}, {"model.norm": ["none", "batchnorm"], "optimizer.lr": [0.1, 1.0]}, {"model.norm": "none"}
)


def cell(norm: str, lr: float, accuracies: list[float], **extra) -> CellResult:
    """A cell of the norm x lr grid, one succeeded run per accuracy."""
    jobs = [run(seed, final_test_acc=acc, final_train_acc=0.9, **extra) for seed, acc in enumerate(accuracies)]
    return CellResult("grid", {"model.norm": norm, "optimizer.lr": lr}, jobs)


def test_only_finished_runs_that_did_not_diverge_are_aggregated():
    jobs = [
        run(0, final_test_acc=0.8, final_train_acc=0.9),
        run(1, final_test_acc=0.7, final_train_acc=0.95),
        run(2, final_test_acc=0.1, failed_to_learn=True, final_train_acc=0.1),
        run(3, final_test_acc=0.1, diverged=True, diverged_at_step=5),
        run(4, status="running"),
        run(5, status="failed"),
    ]
    found = cell_report(CellResult("grid", {"model.norm": "none"}, jobs), SECTION, [])
    accuracies = [0.8, 0.7, 0.1]
    low, high = stats.t.interval(0.95, 2, loc=np.mean(accuracies), scale=stats.sem(accuracies))
    assert (found["n"], found["diverged"], found["failed_to_learn"]) == (3, 1, 1)
    assert found["counts"] == {"succeeded": 4, "running": 1, "failed": 1}
    assert found["summary"]["final_test_acc"] == {
        "mean": pytest.approx(np.mean(accuracies)),
        "std": pytest.approx(np.std(accuracies, ddof=1)),
        "n": 3,
        "ci_low": pytest.approx(low),
        "ci_high": pytest.approx(high),
    }
    assert found["summary"]["generalization_gap"]["mean"] == pytest.approx(np.mean([0.1, 0.25, 0.0]))
    assert "diverged" not in found["summary"] and "diverged_at_step" not in found["summary"]


def test_each_cell_is_compared_with_the_baseline_at_its_other_values():
    cells = [cell("none", 0.1, [0.7, 0.72]), cell("none", 1.0, [0.5, 0.52, 0.55]), cell("batchnorm", 1.0, [0.8, 0.82])]
    reports = [cell_report(found, SECTION, cells) for found in cells]
    assert reports[0]["comparison"] is None and reports[1]["comparison"] is None
    comparison = reports[2]["comparison"]
    assert comparison["baseline"] == {"model.norm": "none", "optimizer.lr": 1.0}
    expected = stats.ttest_ind([0.8, 0.82], [0.5, 0.52, 0.55], equal_var=False).confidence_interval()
    assert comparison["fields"]["final_test_acc"]["ci_low"] == pytest.approx(expected.low)
    assert comparison["fields"]["final_test_acc"]["ratio"] == pytest.approx(0.81 / np.mean([0.5, 0.52, 0.55]))


def test_a_cell_without_its_baseline_cell_has_no_comparison():
    cells = [cell("none", 0.1, [0.7]), cell("batchnorm", 1.0, [0.8])]
    assert cell_report(cells[1], SECTION, cells)["comparison"] is None


def test_curves_of_unequal_length_average_what_each_step_has():
    found = curve([([0, 10, 20], [1.0, 0.5, 0.25]), ([0, 10], [3.0, math.nan]), ([0, 5], [2.0, 0.75])])
    assert found["steps"] == [0, 5, 10, 20]
    assert found["n"] == [3, 1, 1, 1]
    assert found["mean"] == [pytest.approx(2.0), 0.75, 0.5, 0.25]
    low, high = stats.t.interval(0.95, 2, loc=2.0, scale=stats.sem([1.0, 3.0, 2.0]))
    assert (found["low"][0], found["high"][0]) == (pytest.approx(low), pytest.approx(high))
    assert found["low"][1:] == found["mean"][1:] == found["high"][1:]


def test_a_diverged_run_is_in_the_curves_up_to_where_it_stopped():
    jobs = [
        run(0, series={"train_loss": ([0, 10, 20], [2.0, 1.0, 0.5])}, final_test_acc=0.8),
        run(1, series={"train_loss": ([0, 10], [2.0, math.inf])}, diverged=True),
    ]
    found = cell_report(CellResult("grid", {"model.norm": "none"}, jobs), SECTION, [])
    assert found["curves"]["train_loss"]["n"] == [2, 1, 1]
    assert found["n"] == 1
