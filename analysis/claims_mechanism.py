"""The claims about what else BN does: it regularizes, it costs compute, it reduces internal covariate shift."""

from typing import Any

import numpy as np

from analysis.evidence import BN, NONE, arm, difference, missing, section
from analysis.results import CellResult, JobResult, StudyResult
from analysis.runs import GAP, counted, values
from analysis.stats import contrast, numbers, ratio, summarize
from analysis.verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, interval_words, judge, make_claim, rule
from contracts.presets import CLAIM_SECTIONS, DROPOUT

GAP_MINIMUM = 0.01
COST_NULL = 1.05  # at most a 5% cost counts as none
ICS_MINIMUM = 0.10  # of none's mean
TORCH_BN = "torch_batchnorm"
STEP = "train_step_cpu_ms"
WALL_STEP = "train_step_ms"  # reported beside CPU time: wall time on a shared machine also counts others' load

REGULARIZATION = {
    "id": "regularization",
    "title": "Batch normalization regularizes",
    "statement": "Batch normalization acts as a regularizer, in some cases removing the need for dropout: the gap "
    "between training and test accuracy is smaller, and dropout adds less on top of it.",
    "plots": [f"regularization-{name}" for name in CLAIM_SECTIONS["regularization"]],
}
COST = {
    "id": "cost",
    "title": "Batch normalization costs extra compute",
    "statement": "Batch normalization adds computation to every training step, and to inference unless it is folded "
    "into the weights of the layer before it.",
    "plots": [f"cost-{name}" for name in CLAIM_SECTIONS["cost"]],
}
COVARIATE_SHIFT = {
    "id": "covariate_shift",
    "title": "Batch normalization works by reducing internal covariate shift",
    "statement": "Batch normalization works by reducing internal covariate shift, the change in a layer's input "
    "distribution as the layers below it train (Ioffe & Szegedy 2015); evaluated here as 'BN reduces internal "
    "covariate shift', measured as Santurkar et al. 2018 do.",
    "plots": [
        plot.format(name) for name in CLAIM_SECTIONS["covariate_shift"] for plot in ("ics-{}", "curves-{}-train_loss")
    ],
}


def _dropout_cells(cells: list[CellResult]) -> dict[str, CellResult | None]:
    """The four cells: each norm without dropout and with it."""
    return {
        f"{norm} dropout {rate:g}": arm(cells, norm, **{"model.dropout": rate})
        for norm in (NONE, BN)
        for rate in (0.0, DROPOUT)
    }


def _interaction(test: dict[str, list[float]]) -> dict[str, Any] | None:
    """Dropout's benefit to BN minus its benefit to none, with its Welch interval over the four cells."""
    signs = {f"{BN} dropout {DROPOUT:g}": 1.0, f"{BN} dropout 0": -1.0, f"{NONE} dropout {DROPOUT:g}": -1.0}
    return contrast([(test[label], signs.get(label, 1.0)) for label in test])


def regularization(result: StudyResult) -> dict[str, Any]:
    """Claim 4: BN's generalization gap is smaller, and dropout helps BN less than it helps none."""
    _, cells = section(result, CLAIM_SECTIONS["regularization"][0])
    four = _dropout_cells(cells)
    runs = {label: counted(cell) if cell is not None else [] for label, cell in four.items()}
    gap = difference(values(runs[f"{BN} dropout 0"], GAP), values(runs[f"{NONE} dropout 0"], GAP))
    test = {label: values(found, "final_test_acc") for label, found in runs.items()}
    benefit = {
        norm: contrast([(test[f"{norm} dropout {DROPOUT:g}"], 1.0), (test[f"{norm} dropout 0"], -1.0)])
        for norm in (NONE, BN)
    }
    verdict = INCONCLUSIVE if gap is None else judge(gap["ci_low"], gap["ci_high"], gap["estimate"], -1, GAP_MINIMUM)
    helps_less = None if None in benefit.values() else benefit[BN]["estimate"] < benefit[NONE]["estimate"]
    if verdict == SUPPORTED and not helps_less:
        verdict = INCONCLUSIVE
    evidence = {
        "gap": {label: summarize(values(found, GAP)) for label, found in runs.items()},
        "test_acc": {label: summarize(found) for label, found in test.items()},
        "gap_difference": gap,
        "dropout_benefit": benefit,
        "dropout_benefit_bn_minus_none": _interaction(test),
        "dropout_helps_bn_less": helps_less,
        "missing": missing(four),
    }
    words = (
        "Without dropout, the generalization gap (final train accuracy - final test accuracy) of BN minus none: "
        + rule("that difference", -1, f"{GAP_MINIMUM:g}")
        + f". Supported needs as well that dropout {DROPOUT:g} raises BN's mean test accuracy less than none's "
        "(their difference of differences is in the evidence); when it does not, inconclusive."
    )
    return make_claim(REGULARIZATION, verdict, words, evidence, _regularization_words(gap, benefit))


def _regularization_words(gap: dict[str, Any] | None, benefit: dict[str, Any]) -> str:
    """The gap's difference and dropout's benefit to each arm, in a sentence."""
    if gap is None:
        return "Missing: runs without dropout in both arms."
    words = f"Without dropout BN's generalization gap minus none's is {gap['estimate']:+.3f}{interval_words(gap)}"
    if None in benefit.values():
        return words + "; the runs with dropout are missing."
    return words + (
        f"; dropout {DROPOUT:g} changes test accuracy by {benefit[BN]['estimate']:+.3f} with BN and "
        f"{benefit[NONE]['estimate']:+.3f} without."
    )


def _arms(cells: list[CellResult], field: str) -> dict[str, list[float]]:
    """The field's values in each norm's cell of the cost section."""
    return {norm: values(counted(cell), field) if (cell := arm(cells, norm)) else [] for norm in (NONE, BN, TORCH_BN)}


def _folding(inference: dict[str, list[float]], folded: dict[str, list[float]]) -> dict[str, Any]:
    """Folded BN's inference time over none's: removed when the interval lies below 1.05, kept when above."""
    found = {}
    for norm in (BN, TORCH_BN):
        over = ratio(folded[norm], inference[NONE])
        kept = (
            None if over is None else judge(over["ratio_ci_low"], over["ratio_ci_high"], over["ratio"], 1, 0, COST_NULL)
        )
        removes = {SUPPORTED: False, NOT_SUPPORTED: True}.get(kept)
        found[norm] = {
            "folded_over_none": over,
            "unfolded_over_none": ratio(inference[norm], inference[NONE]),
            "folding_removes_cost": removes,
        }
    return found


def cost(result: StudyResult) -> dict[str, Any]:
    """Claim 5: torch's batch norm makes a training step more than 5% dearer than none (the cost of BN itself)."""
    _, cells = section(result, CLAIM_SECTIONS["cost"][0])
    step = _arms(cells, STEP)
    inference, folded = _arms(cells, "inference_us_per_example"), _arms(cells, "folded_inference_us_per_example")
    torch_ratio = ratio(step[TORCH_BN], step[NONE])
    verdict = INCONCLUSIVE
    if torch_ratio is not None:
        verdict = judge(
            torch_ratio["ratio_ci_low"], torch_ratio["ratio_ci_high"], torch_ratio["ratio"], 1, 0, COST_NULL
        )
    wall = _arms(cells, WALL_STEP)
    evidence = {
        "train_step_cpu_ms": {norm: summarize(found) for norm, found in step.items()},
        "train_step_ms": {norm: summarize(found) for norm, found in wall.items()},
        "torch_batchnorm_over_none": torch_ratio,
        "torch_batchnorm_over_none_wall": ratio(wall[TORCH_BN], wall[NONE]),
        "batchnorm_over_none": ratio(step[BN], step[NONE]),
        "batchnorm_over_torch_batchnorm": ratio(step[BN], step[TORCH_BN]),
        "inference_us_per_example": {norm: summarize(found) for norm, found in inference.items()},
        "folded_inference_us_per_example": {norm: summarize(found) for norm, found in folded.items() if found},
        "folding": _folding(inference, folded),
        "missing": [norm for norm, found in step.items() if not found],
    }
    words = (
        f"The ratio of mean {STEP} (CPU time of a training step) of torch's batch norm to none, whose implementation "
        "separates BN's own cost from this project's: "
        + rule("that ratio", 1, "", COST_NULL)
        + ". This project's batch norm over none is reported as the implementation's overhead, and inference per "
        "example with BN folded into the weights over none's: folding removes the inference cost when that ratio's "
        f"interval lies below {COST_NULL:g}, and does not when it lies above."
    )
    return make_claim(COST, verdict, words, evidence, _cost_words(evidence))


def _cost_words(evidence: dict[str, Any]) -> str:
    """The ratios in a sentence: torch's BN (the claim), this project's BN (its implementation), folding."""
    parts = []
    for key, label in (("torch_batchnorm_over_none", "torch's BN"), ("batchnorm_over_none", "this project's BN")):
        if (found := evidence[key]) is not None:
            parts.append(f"a training step with {label} takes {found['ratio']:.2f}x the time of one without BN")
    folding = evidence["folding"][BN]
    removes = folding["folding_removes_cost"]
    if folding["folded_over_none"] is not None:
        parts.append(f"folded BN's inference takes {folding['folded_over_none']['ratio']:.2f}x none's")
    parts.append(
        {True: "folding BN removes its inference cost", False: "folding BN leaves an inference cost"}.get(
            removes, "whether folding removes the inference cost is unclear"
        )
    )
    return "Measured by torch's implementation (BN's own cost, not this project's): " + "; ".join(parts) + "."


def ics_of(job: JobResult, kind: str) -> float | None:
    """Santurkar et al.'s measure for one run: the mean over layers of each layer's mean over its logged steps."""
    layers = [
        numbers(points)
        for metric, (_, points) in job.series.items()
        if metric.startswith("ics/") and metric.endswith(f"/{kind}")
    ]
    means = [float(np.mean(found)) for found in layers if found]
    return float(np.mean(means)) if means else None


def covariate_shift(result: StudyResult) -> dict[str, Any]:
    """Claim 6, as 'BN reduces ICS': BN's mean l2 ICS is lower than none's by at least 10% of none's."""
    _, cells = section(result, CLAIM_SECTIONS["covariate_shift"][0])
    runs = {norm: counted(cell) if (cell := arm(cells, norm)) else [] for norm in (NONE, BN)}
    per_run = {
        kind: {norm: [x for job in found if (x := ics_of(job, kind)) is not None] for norm, found in runs.items()}
        for kind in ("l2", "cos")
    }
    change = difference(per_run["l2"][BN], per_run["l2"][NONE])
    verdict, minimum = INCONCLUSIVE, None
    if change is not None:
        minimum = ICS_MINIMUM * abs(change["baseline_mean"])
        verdict = judge(change["ci_low"], change["ci_high"], change["estimate"], -1, minimum)
    evidence = {
        "l2": {norm: summarize(found) for norm, found in per_run["l2"].items()},
        "cos": {norm: summarize(found) for norm, found in per_run["cos"].items()},
        "l2_difference": change,
        "cos_difference": difference(per_run["cos"][BN], per_run["cos"][NONE]),
        "minimum": minimum,
        "missing": [norm for norm, found in per_run["l2"].items() if not found],
    }
    words = (
        "Per run, the mean over layers and logged steps of ics/<layer>/l2 (Santurkar et al. 2018: the distance "
        "between a layer's gradient before and after the layers below it took their update); BN minus none: "
        + rule("that difference", -1, f"{ICS_MINIMUM:.0%} of none's mean")
    )
    finding = (
        "Missing: ICS measurements in both arms."
        if change is None
        else f"BN's mean l2 ICS minus none's: {change['estimate']:+.3g}{interval_words(change)}, none's mean being "
        f"{change['baseline_mean']:.3g}."
    )
    finding += (
        " Even a reduction would not show that BN works because of it: Santurkar et al. found that BN's benefit "
        "does not come from reducing internal covariate shift."
    )
    return make_claim(COVARIATE_SHIFT, verdict, words, evidence, finding)
