"""small_batches on synthetic presets: degradation at the small per-process batch and its repair by sync BN."""

import pytest

from analysis.claims_batches import small_batches
from tests.analysis.factory import claims_study, norm, run, shaped

NOISE = [0.0, 0.004, -0.003]
HEALTHY = {"none": 0.55, "batchnorm": 0.60, "sync_batchnorm": 0.60, "ghost_batchnorm": 0.58}


def batches_study(small: dict[str, float], large: dict[str, float] = HEALTHY, spread: float = 1.0):
    """Final test accuracy per norm at batch 4 (`small`) and 64 (`large`), with seed noise times `spread`."""

    def shape(values, seed):
        accuracy = (small if values["training.batch_size"] == 4 else large)[norm(values)]
        return run(seed, final_test_acc=accuracy + spread * NOISE[seed], diverged=False, failed_to_learn=False)

    return claims_study(shaped("small_batches", shape))


@pytest.mark.parametrize(
    ("small", "verdict"),
    [
        ({"none": 0.40, "batchnorm": 0.20, "sync_batchnorm": 0.38, "ghost_batchnorm": 0.20}, "supported"),
        ({"none": 0.40, "batchnorm": 0.20, "sync_batchnorm": 0.20, "ghost_batchnorm": 0.20}, "not_supported"),
        ({"none": 0.40, "batchnorm": 0.45, "sync_batchnorm": 0.50, "ghost_batchnorm": 0.45}, "not_supported"),
        ({"none": 0.40, "batchnorm": 0.50, "sync_batchnorm": 0.55, "ghost_batchnorm": 0.45}, "not_supported"),
    ],
)
def test_both_parts_decide_the_verdict(small, verdict):
    claim = small_batches(batches_study(small))
    assert claim["verdict"] == verdict
    evidence = claim["evidence"]
    shrink = (small["batchnorm"] - small["none"]) - (HEALTHY["batchnorm"] - HEALTHY["none"])
    assert evidence["degradation"]["estimate"] == pytest.approx(shrink)
    assert evidence["repair"]["estimate"] == pytest.approx(small["sync_batchnorm"] - small["batchnorm"])
    assert evidence["processes"] == 2 and evidence["per_process_batch"] == {4: 2, 64: 32}
    assert evidence["missing"] == []


def test_noise_larger_than_the_effects_is_inconclusive():
    small = {"none": 0.40, "batchnorm": 0.36, "sync_batchnorm": 0.39, "ghost_batchnorm": 0.36}
    claim = small_batches(batches_study(small, spread=20.0))
    assert claim["verdict"] == "inconclusive"
    assert claim["evidence"]["repair"]["ci_low"] < 0 < claim["evidence"]["repair"]["ci_high"]


def test_failed_runs_count_as_chance_and_ghost_bn_is_reported_not_judged():
    def shape(values, seed):
        if norm(values) == "batchnorm" and values["training.batch_size"] == 4:
            return run(seed, final_test_acc=0.3, diverged=False, failed_to_learn=True)
        large = {**HEALTHY, "ghost_batchnorm": 0.15}
        accuracy = (
            {"none": 0.4, "sync_batchnorm": 0.38, "ghost_batchnorm": 0.1}
            if values["training.batch_size"] == 4
            else large
        )
        return run(seed, final_test_acc=accuracy[norm(values)] + NOISE[seed], diverged=False, failed_to_learn=False)

    claim = small_batches(claims_study(shaped("small_batches", shape)))
    assert claim["evidence"]["test_acc"]["batchnorm batch 4"]["mean"] == pytest.approx(0.1)
    assert claim["evidence"]["ghost_minus_bn_large"]["estimate"] == pytest.approx(0.15 - 0.60)
    assert claim["verdict"] == "supported"
    assert "Ghost BN, normalizing groups of 2 inside batch 64" in claim["summary"]
    assert claim["plots"] == ["batch-small_batches", "curves-small_batches-test_acc"]


def test_a_study_still_running_is_inconclusive_and_names_the_missing_cells():
    def shape(values, seed):
        if norm(values) == "sync_batchnorm":
            return run(seed, status="running")
        degraded = norm(values) == "batchnorm" and values["training.batch_size"] == 4
        return run(seed, final_test_acc=0.2 if degraded else 0.5 + NOISE[seed], diverged=False, failed_to_learn=False)

    claim = small_batches(claims_study(shaped("small_batches", shape)))
    assert claim["evidence"]["degradation"]["ci_high"] < 0
    assert claim["verdict"] == "inconclusive" and claim["evidence"]["repair"] is None
    assert claim["evidence"]["missing"] == ["sync_batchnorm batch 4", "sync_batchnorm batch 64"]
    assert claim["summary"].startswith("Missing: sync_batchnorm batch 4, sync_batchnorm batch 64.")


def test_a_claims_study_without_the_section_is_inconclusive_and_says_so():
    study = claims_study()
    study.sections[:] = [section for section in study.sections if section.name != "small_batches"]
    claim = small_batches(study)
    assert claim["verdict"] == "inconclusive"
    assert claim["evidence"]["missing"] == ["section small_batches with two batch sizes"]
    assert claim["summary"].startswith("Missing: section small_batches with two batch sizes.")
