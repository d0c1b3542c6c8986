"""The intervals equal scipy's own computations, so a reader who redoes them by hand gets the report's numbers."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.stats import compare, contrast, number, ratio, summarize

A = [0.81, 0.78, 0.86, 0.80]
B = [0.70, 0.74, 0.69]


def test_summary_is_the_t_interval_of_the_mean():
    found = summarize(A)
    low, high = stats.t.interval(0.95, len(A) - 1, loc=np.mean(A), scale=stats.sem(A))
    assert found["mean"] == pytest.approx(np.mean(A))
    assert found["std"] == pytest.approx(np.std(A, ddof=1))
    assert (found["n"], found["ci_low"], found["ci_high"]) == (4, pytest.approx(low), pytest.approx(high))


def test_one_run_is_its_own_interval_and_none_is_nothing():
    assert summarize([0.5]) == {"mean": 0.5, "std": 0.0, "n": 1, "ci_low": 0.5, "ci_high": 0.5}
    assert summarize([]) is None


def test_identical_runs_give_a_point_interval_not_nan():
    assert summarize([2.0, 2.0, 2.0])["ci_low"] == 2.0
    assert compare([2.0, 2.0], [1.0, 1.0])["ci_high"] == 1.0


def test_difference_is_welchs_interval():
    found = compare(A, B)
    expected = stats.ttest_ind(A, B, equal_var=False).confidence_interval(0.95)
    assert found["difference"] == pytest.approx(np.mean(A) - np.mean(B))
    assert (found["ci_low"], found["ci_high"]) == (pytest.approx(expected.low), pytest.approx(expected.high))


def test_ratio_is_the_delta_method_with_welch_degrees_of_freedom():
    found = ratio(A, B)
    r = np.mean(A) / np.mean(B)
    va, vb = np.var(A, ddof=1) / len(A), r * r * np.var(B, ddof=1) / len(B)
    df = (va + vb) ** 2 / (va**2 / (len(A) - 1) + vb**2 / (len(B) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb) / np.mean(B)
    assert found["ratio"] == pytest.approx(r)
    assert (found["ratio_ci_low"], found["ratio_ci_high"]) == (pytest.approx(r - half), pytest.approx(r + half))


def test_small_or_zero_baselines_have_no_interval_or_ratio():
    assert compare([1.0], B)["ci_low"] is None
    assert compare([1.0], B)["ratio_ci_low"] is None
    assert compare(A, [0.0, 0.0])["ratio"] is None
    assert compare(A, []) is None


def test_contrast_of_four_groups_matches_a_welch_hand_computation():
    groups = [(A, 1.0), (B, -1.0), ([0.5, 0.6, 0.55], -1.0), ([0.4, 0.42], 1.0)]
    found = contrast(groups)
    variances = [np.var(g, ddof=1) / len(g) for g, _ in groups]
    df = sum(variances) ** 2 / sum(v * v / (len(g) - 1) for v, (g, _) in zip(variances, groups, strict=True))
    half = stats.t.ppf(0.975, df) * math.sqrt(sum(variances))
    estimate = sum(sign * np.mean(g) for g, sign in groups)
    assert found["estimate"] == pytest.approx(estimate)
    assert found["ci_high"] - found["ci_low"] == pytest.approx(2 * half)


@pytest.mark.parametrize("value", [None, True, "1", math.nan, math.inf])
def test_a_non_number_is_no_measurement(value):
    assert number(value) is None
