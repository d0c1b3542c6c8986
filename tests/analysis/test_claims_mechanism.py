"""regularization, cost and covariate_shift on synthetic presets: each verdict comes from the data."""

import pytest

from analysis.claims_mechanism import cost, covariate_shift, ics_of, regularization
from tests.analysis.factory import claims_study, norm, run, shaped

NOISE = [0.0, 0.004, -0.003]


def regularization_study(test: dict[tuple[str, float], float]):
    """Train accuracy 0.95 everywhere; test accuracy per (norm, dropout) as given, plus a little noise per seed."""

    def shape(values, seed):
        found = test[(norm(values), values["model.dropout"])] + NOISE[seed]
        return run(seed, final_train_acc=0.95, final_test_acc=found)

    return claims_study(shaped("regularization", shape))


@pytest.mark.parametrize(
    ("test", "verdict"),
    [
        ({("none", 0.0): 0.75, ("none", 0.5): 0.80, ("batchnorm", 0.0): 0.85, ("batchnorm", 0.5): 0.86}, "supported"),
        (
            {("none", 0.0): 0.85, ("none", 0.5): 0.86, ("batchnorm", 0.0): 0.75, ("batchnorm", 0.5): 0.80},
            "not_supported",
        ),
        (
            {("none", 0.0): 0.80, ("none", 0.5): 0.80, ("batchnorm", 0.0): 0.801, ("batchnorm", 0.5): 0.8},
            "not_supported",
        ),
        (
            {("none", 0.0): 0.75, ("none", 0.5): 0.76, ("batchnorm", 0.0): 0.85, ("batchnorm", 0.5): 0.93},
            "inconclusive",
        ),
    ],
)
def test_regularization_needs_a_smaller_gap_and_less_benefit_from_dropout(test, verdict):
    claim = regularization(regularization_study(test))
    assert claim["verdict"] == verdict
    benefit = claim["evidence"]["dropout_benefit"]["batchnorm"]["estimate"]
    assert benefit == pytest.approx(test[("batchnorm", 0.5)] - test[("batchnorm", 0.0)])
    assert claim["evidence"]["gap"]["none dropout 0"]["mean"] == pytest.approx(
        0.95 - test[("none", 0.0)] - 0.0003, abs=1e-3
    )


def cost_study(step: dict[str, list[float]], folded: list[float]):
    """CPU ms per training step as given per norm (wall ms 10 % more); inference 2 us without BN, 3 us with BN,
    `folded` once folded."""

    def shape(values, seed):
        arm = norm(values)
        timing = {"train_step_cpu_ms": step[arm][seed], "inference_us_per_example": 2.0 + NOISE[seed]}
        timing["train_step_ms"] = 1.1 * step[arm][seed]
        if arm != "none":
            timing |= {"inference_us_per_example": 3.0 + NOISE[seed], "folded_inference_us_per_example": folded[seed]}
        return run(seed, **timing)

    return claims_study(shaped("cost", shape))


NONE_MS = [1.0, 1.01, 1.02]


@pytest.mark.parametrize(
    ("torch_ms", "verdict"),
    [([1.5, 1.52, 1.49], "supported"), ([1.0, 1.02, 1.01], "not_supported"), ([0.9, 1.5, 1.2], "inconclusive")],
)
def test_cost_is_torchs_batch_norm_against_none(torch_ms, verdict):
    claim = cost(cost_study({"none": NONE_MS, "batchnorm": [2.0, 2.1, 2.05], "torch_batchnorm": torch_ms}, [2.0] * 3))
    assert claim["verdict"] == verdict
    assert claim["evidence"]["batchnorm_over_none"]["ratio"] == pytest.approx(2.05 / 1.01)
    assert claim["evidence"]["train_step_ms"]["none"]["mean"] == pytest.approx(1.1 * 1.01)
    wall = claim["evidence"]["torch_batchnorm_over_none_wall"]["ratio"]
    assert wall == pytest.approx(claim["evidence"]["torch_batchnorm_over_none"]["ratio"])
    assert "torch's implementation" in claim["summary"]


@pytest.mark.parametrize(("folded", "removes"), [([2.0, 2.01, 1.99], True), ([2.9, 3.0, 2.95], False)])
def test_the_evidence_says_whether_folding_removes_the_inference_cost(folded, removes):
    claim = cost(cost_study({"none": NONE_MS, "batchnorm": NONE_MS, "torch_batchnorm": NONE_MS}, folded))
    assert claim["evidence"]["folding"]["batchnorm"]["folding_removes_cost"] is removes


def ics_study(levels: dict[str, list[float]]):
    """ICS l2 per layer and step: the arm's level for that seed, the head twice it; cos 0.9."""

    def shape(values, seed):
        level = levels[norm(values)][seed]
        series = {
            "ics/h1/l2": ([10, 20, 30], [level] * 3),
            "ics/out/l2": ([10, 20], [2 * level, 2 * level]),
            "ics/h1/cos": ([10, 20], [0.9, 0.9]),
        }
        return run(seed, series=series, final_val_acc=0.8)

    return claims_study(shaped("covariate_shift", shape))


@pytest.mark.parametrize(
    ("bn", "verdict"),
    [
        ([0.5, 0.52, 0.49], "supported"),
        ([1.5, 1.52, 1.49], "not_supported"),
        ([1.01, 1.0, 1.02], "not_supported"),  # within ±10% of none's
        ([0.2, 1.0, 1.8], "inconclusive"),
    ],
)
def test_covariate_shift_compares_santurkars_measure(bn, verdict):
    claim = covariate_shift(ics_study({"none": [1.0, 1.01, 0.99], "batchnorm": bn}))
    assert claim["verdict"] == verdict
    assert claim["evidence"]["l2"]["batchnorm"]["mean"] == pytest.approx(1.5 * sum(bn) / 3)
    assert "Santurkar et al. found" in claim["summary"]


def test_ics_is_the_mean_over_layers_of_each_layers_mean_over_steps():
    job = run(series={"ics/h1/l2": ([1, 2], [1.0, 3.0]), "ics/out/l2": ([1], [6.0]), "act/h1/p50": ([1], [9.0])})
    assert ics_of(job, "l2") == pytest.approx(4.0)
    assert ics_of(job, "cos") is None
