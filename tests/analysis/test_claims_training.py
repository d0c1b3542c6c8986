"""faster, higher_lr and initialization on synthetic presets: each verdict comes from the data, all three occur."""

import math

import pytest

from analysis.claims_training import faster, higher_lr, initialization
from contracts.presets import claims_sections
from tests.analysis.factory import claims_study, healthy, norm, run, shaped

BEST = {"none": 0.1, "batchnorm": 1.0}


def lr_study(steps: dict[str, list[float | None]], stable_up_to: dict[str, float], accuracy: float = 0.99):
    """Both learning-rate sections: each norm peaks at BEST and diverges above stable_up_to."""

    def shape(values, seed):
        arm, lr = norm(values), values["optimizer.lr"]
        if lr > stable_up_to[arm]:
            return run(seed, diverged=True, diverged_at_step=40, steps_done=40, steps_to_target=None)
        acc = accuracy - 0.01 * abs(math.log10(lr / BEST[arm]))
        return run(seed, final_val_acc=acc, test_acc_at_best_val=acc - 0.02, steps_to_target=steps[arm][seed])

    def make(section, values, seed):
        return shape(values, seed) if section.startswith("learning_rate") else healthy(section, values, seed)

    return claims_study(make)


FAST, SLOW = [100, 110, 120], [400, 420, 440]


@pytest.mark.parametrize(
    ("steps", "verdict"),
    [
        ({"batchnorm": FAST, "none": SLOW}, "supported"),
        ({"batchnorm": SLOW, "none": FAST}, "not_supported"),
        ({"batchnorm": [400, 401, 402], "none": [400, 401, 402]}, "not_supported"),  # negligible
        ({"batchnorm": [100, 400, 700], "none": [380, 400, 420]}, "inconclusive"),
        ({"batchnorm": [None] * 3, "none": [None] * 3}, "inconclusive"),  # neither reaches the target
    ],
)
def test_faster_is_judged_at_each_arms_best_learning_rate(steps, verdict):
    claim = faster(lr_study(steps, {"none": 0.3, "batchnorm": 1.0}))
    assert claim["verdict"] == verdict
    section = claim["evidence"]["sections"][0]
    assert (section["best_lr"]["none"]["lr"], section["best_lr"]["batchnorm"]["lr"]) == (0.1, 1.0)
    assert section["shared_lr"]["batchnorm"]["lr"] == 0.1
    assert section["best_lr"]["batchnorm"]["test_acc_at_best_val"]["mean"] == pytest.approx(0.99 - 0.02)
    assert {"not_supported": "goes against", "inconclusive": "not strong enough"}.get(verdict, "") in claim["summary"]


def test_faster_is_inconclusive_when_every_run_reached_the_target_at_the_first_evaluation():
    first = {section.name: section.base["training"]["eval_every"] for section in claims_sections(1.0)}

    def make(section, values, seed):
        found = healthy(section, values, seed)
        return run(seed, **{**found.summary, "steps_to_target": first[section]})

    claim = faster(claims_study(make))
    assert claim["verdict"] == "inconclusive"
    assert all("first evaluation" in found["best_lr"]["note"] for found in claim["evidence"]["sections"])


def test_a_run_that_never_reaches_the_target_counts_as_its_length_plus_one():
    claim = faster(lr_study({"batchnorm": FAST, "none": [None, None, None]}, {"none": 0.3, "batchnorm": 1.0}))
    first, digits = claim["evidence"]["sections"]
    assert first["best_lr"]["none"]["steps"]["mean"] == 1501 and first["best_lr"]["none"]["censored"] == 3
    assert digits["best_lr"]["none"]["steps"]["mean"] == 1001
    assert claim["verdict"] == "supported"


@pytest.mark.parametrize(
    ("stable_up_to", "verdict"),
    [
        ({"none": 0.1, "batchnorm": 1.0}, "supported"),
        ({"none": 0.3, "batchnorm": 0.1}, "not_supported"),
        ({"none": 0.3, "batchnorm": 0.3}, "not_supported"),
    ],
)
def test_higher_lr_compares_the_largest_stable_rates(stable_up_to, verdict):
    claim = higher_lr(lr_study({"batchnorm": FAST, "none": SLOW}, stable_up_to))
    assert claim["verdict"] == verdict
    section = claim["evidence"]["sections"][0]
    assert section["batchnorm"]["largest_stable_lr"] == stable_up_to["batchnorm"]
    row = next(row for row in section["none"]["per_lr"] if row["lr"] == 3.0)
    assert (row["diverged"], row["stable"]) == (3, False)


def test_higher_lr_is_inconclusive_when_one_dataset_reaches_the_target_at_no_rate():
    def shape(values, seed):
        if values["optimizer.lr"] > (1.0 if norm(values) == "batchnorm" else 0.1):
            return run(seed, diverged=True, steps_done=40)
        return run(seed, final_val_acc=0.6)  # above mnist1d's 0.5, below digits' 0.95

    claim = higher_lr(claims_study(lambda s, v, seed: shape(v, seed) if "learning" in s else healthy(s, v, seed)))
    assert [found["verdict"] for found in claim["evidence"]["sections"]] == ["supported", "inconclusive"]
    assert claim["verdict"] == "inconclusive"


def init_study(ranges: dict[str, list[float]], diverge_none: bool = False):
    """Accuracy 0.8 at every init scale but 10, where it is 0.8 minus the arm's range for that seed."""

    def shape(values, seed):
        if diverge_none and norm(values) == "none" and values["model.init.scale"] == 0.1:
            return run(seed, diverged=True)
        drop = ranges[norm(values)][seed] if values["model.init.scale"] == 10.0 else 0.0
        return run(seed, final_val_acc=0.8 - drop)

    return claims_study(shaped("initialization", shape))


@pytest.mark.parametrize(
    ("ranges", "verdict"),
    [
        ({"batchnorm": [0.01, 0.02, 0.015], "none": [0.2, 0.21, 0.22]}, "supported"),
        ({"batchnorm": [0.2, 0.21, 0.22], "none": [0.01, 0.02, 0.015]}, "not_supported"),
        ({"batchnorm": [0.1, 0.11, 0.12], "none": [0.1, 0.12, 0.11]}, "not_supported"),  # within ±0.05
        ({"batchnorm": [0.0, 0.3, 0.05], "none": [0.15, 0.15, 0.16]}, "inconclusive"),
    ],
)
def test_initialization_compares_the_spread_over_init_scales_paired_by_seed(ranges, verdict):
    claim = initialization(init_study(ranges))
    assert claim["verdict"] == verdict
    assert claim["evidence"]["ranges"]["batchnorm"][1] == pytest.approx(ranges["batchnorm"][1])


def test_a_diverged_run_counts_as_chance_in_the_spread():
    claim = initialization(init_study({"batchnorm": [0.01] * 3, "none": [0.0] * 3}, diverge_none=True))
    assert claim["evidence"]["ranges"]["none"][0] == pytest.approx(0.8 - 0.1)
    assert claim["verdict"] == "supported"
