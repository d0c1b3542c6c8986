"""The seventh claim: BN degrades with small per-device batches, and synchronizing the statistics repairs it."""

from typing import Any

from analysis.evidence import BN, NONE, arm, difference, missing, scored, section
from analysis.results import CellResult, StudyResult
from analysis.runs import finished
from analysis.stats import contrast, summarize
from analysis.verdicts import INCONCLUSIVE, combine, interval_words, judge, make_claim, rule
from contracts.presets import CLAIM_SECTIONS

SYNC, GHOST = "sync_batchnorm", "ghost_batchnorm"
NORMS = (NONE, BN, SYNC, GHOST)
BATCH = "training.batch_size"
FIELD = "final_test_acc"
ACCURACY_MINIMUM = 0.01

SMALL_BATCHES = {
    "id": "small_batches",
    "title": "Batch normalization degrades with small per-device batches; synchronizing the statistics repairs it",
    "statement": "Batch normalization estimates its statistics from each device's share of the batch, so with few "
    "examples per device it trains worse (Ioffe 2017, Wu & He 2018); computing the statistics over the whole batch "
    "across the devices (synchronized BN) repairs it.",
    "plots": [
        plot.format(name) for name in CLAIM_SECTIONS["small_batches"] for plot in ("batch-{}", "curves-{}-test_acc")
    ],
}


def label(norm: str, batch: int) -> str:
    """A cell's name in the evidence, e.g. 'sync_batchnorm batch 4'."""
    return f"{norm} batch {batch}"


def _accuracies(cells: list[CellResult], batches: list[int]) -> dict[str, list[float]]:
    """Final test accuracy of every finished run per cell label, failed runs as chance."""
    found = {}
    for norm in NORMS:
        for batch in batches:
            cell = arm(cells, norm, **{BATCH: batch})
            runs = finished(cell) if cell is not None else []
            found[label(norm, batch)] = [x for job in runs if (x := scored(job, FIELD)) is not None]
    return found


def _minus(test: dict[str, list[float]], norm: str, other: str, batch: int) -> dict[str, Any] | None:
    """One norm's final test accuracy minus another's at one batch size, with its Welch interval."""
    return difference(test[label(norm, batch)], test[label(other, batch)])


def _degradation(test: dict[str, list[float]], small: int, large: int) -> dict[str, Any] | None:
    """BN's benefit over none at the small batch minus its benefit at the large one (none absorbs the batch's own
    effect on training), with its Welch interval."""
    signs = [(BN, small, 1.0), (NONE, small, -1.0), (BN, large, -1.0), (NONE, large, 1.0)]
    return contrast([(test[label(norm, batch)], sign) for norm, batch, sign in signs])


def _judged(found: dict[str, Any] | None, direction: int) -> str:
    """The verdict on one of the two parts."""
    if found is None:
        return INCONCLUSIVE
    return judge(found["ci_low"], found["ci_high"], found["estimate"], direction, ACCURACY_MINIMUM)


def small_batches(result: StudyResult) -> dict[str, Any]:
    """Claim 7: BN's benefit shrinks at the small per-process batch, and sync BN beats per-process BN there."""
    info, cells = section(result, CLAIM_SECTIONS["small_batches"][0])
    batches = sorted(info.grid.get(BATCH, [])) if info else []
    if len(batches) < 2:
        evidence = {"missing": [f"section {CLAIM_SECTIONS['small_batches'][0]} with two batch sizes"]}
        return make_claim(SMALL_BATCHES, INCONCLUSIVE, _rule_words(), evidence, _finding(evidence))
    small, large = batches[0], batches[-1]
    processes = info.base.get("training", {}).get("processes", 1)
    test = _accuracies(cells, [small, large])
    degradation = _degradation(test, small, large)
    repair = _minus(test, SYNC, BN, small)
    evidence = {
        "processes": processes,
        "per_process_batch": {batch: batch // processes for batch in batches},
        "virtual_batch_size": info.base.get("model", {}).get("norm_options", {}).get("virtual_batch_size"),
        "test_acc": {name: summarize(found) for name, found in test.items()},
        "over_none": {label(norm, b): _minus(test, norm, NONE, b) for norm in NORMS[1:] for b in (small, large)},
        "degradation": degradation,
        "repair": repair,
        "ghost_minus_bn_large": _minus(test, GHOST, BN, large),
        "missing": missing({label(n, b): arm(cells, n, **{BATCH: b}) for n in NORMS for b in (small, large)}),
    }
    verdict = combine([_judged(degradation, -1), _judged(repair, 1)])
    return make_claim(SMALL_BATCHES, verdict, _rule_words(), evidence, _finding(evidence))


def _rule_words() -> str:
    """How the two parts are judged and combined."""
    return (
        "Final test accuracy, a run that diverged or failed to learn counting as chance. Degradation: BN's accuracy "
        "minus none's at the small batch, minus the same at the large batch (none takes out the batch size's own "
        "effect on training); "
        + rule("that difference of differences", -1, f"{ACCURACY_MINIMUM:g}")
        + ". Repair: sync_batchnorm's accuracy minus per-process batchnorm's at the small batch; "
        + rule("that difference", 1, f"{ACCURACY_MINIMUM:g}")
        + ". Supported when both are, not supported when either is not, inconclusive otherwise. ghost_batchnorm "
        "(small virtual batches inside the large batch) is reported, not judged."
    )


def _finding(evidence: dict[str, Any]) -> str:
    """The two judged numbers and the ghost BN control in sentences."""
    degradation, repair = evidence.get("degradation"), evidence.get("repair")
    if degradation is None or repair is None:
        return "Missing: " + ", ".join(evidence["missing"]) + "."
    per = evidence["per_process_batch"]
    small, large = min(per), max(per)
    words = (
        f"Over {evidence['processes']} processes, BN's accuracy gain over none at batch {small} ({per[small]} per "
        f"process) minus its gain at batch {large} ({per[large]} per process): {degradation['estimate']:+.3f}"
        f"{interval_words(degradation)}; sync BN minus per-process BN at batch {small}: {repair['estimate']:+.3f}"
        f"{interval_words(repair)}."
    )
    ghost = evidence["ghost_minus_bn_large"]
    if ghost is not None:
        words += (
            f" Ghost BN, normalizing groups of {evidence['virtual_batch_size']} inside batch {large}, minus BN: "
            f"{ghost['estimate']:+.3f}{interval_words(ghost)} (small statistics at a large batch)."
        )
    return words
