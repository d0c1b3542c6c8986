"""The claims about training: BN trains faster, allows higher learning rates, is less sensitive to initialization."""

from typing import Any

from analysis.evidence import (
    BN,
    CHANCE,
    LR,
    NONE,
    arm,
    best_lr,
    difference,
    mean_of,
    missing,
    outcome,
    scored,
    section,
    stable,
    steps_to_target,
    target,
)
from analysis.results import CellResult, SectionInfo, StudyResult
from analysis.runs import counted, finished, values
from analysis.stats import summarize
from analysis.verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, combine, judge, make_claim, rule
from contracts.presets import CLAIM_SECTIONS, SHARED_LR, TARGETS

FASTER_MINIMUM = 0.10  # of none's mean steps
LR_FACTOR = 3.0  # one step of a half-decade grid
INIT_MINIMUM = 0.05  # accuracy
INIT = "model.init.scale"
TARGET_WORDS = ", ".join(f"{accuracy:g} on {dataset}" for dataset, accuracy in TARGETS.items())

FASTER = {
    "id": "faster",
    "title": "Batch normalization trains faster",
    "statement": "A network with batch normalization reaches a given accuracy in fewer training steps than the same "
    "network without it (Ioffe & Szegedy 2015: the same accuracy with 14 times fewer steps).",
    "plots": [plot.format(name) for name in CLAIM_SECTIONS["faster"] for plot in ("curves-{}-val_acc", "lr-{}")],
}
HIGHER_LR = {
    "id": "higher_lr",
    "title": "Batch normalization allows higher learning rates",
    "statement": "With batch normalization much higher learning rates can be used without the training diverging "
    "or failing.",
    "plots": [f"lr-{name}" for name in CLAIM_SECTIONS["higher_lr"]],
}
INITIALIZATION = {
    "id": "initialization",
    "title": "Batch normalization makes training less sensitive to initialization",
    "statement": "With batch normalization one can be less careful about initialization: the accuracy reached varies "
    "less with the scale of the initial weights.",
    "plots": [f"init-{name}" for name in CLAIM_SECTIONS["initialization"]],
}


def _arm_steps(info: SectionInfo, cell: CellResult | None) -> dict[str, Any] | None:
    """One arm's steps to target, with the accuracies of the cell that was selected."""
    if cell is None:
        return None
    steps, censored = steps_to_target(info, cell)
    return {
        "lr": cell.values.get(LR),
        "steps": summarize(steps),
        "censored": censored,
        "final_val_acc": mean_of(cell, "final_val_acc"),
        "test_acc_at_best_val": summarize(values(counted(cell), "test_acc_at_best_val")),
    }


def _steps_comparison(info: SectionInfo, arms: dict[str, CellResult | None]) -> dict[str, Any]:
    """BN's steps to target minus none's, judged against 10% of none's mean."""
    found: dict[str, Any] = {norm: _arm_steps(info, cell) for norm, cell in arms.items()}
    found["missing"] = missing(arms)
    if found["missing"]:
        return {**found, "verdict": INCONCLUSIVE}
    bn, none = (steps_to_target(info, arms[norm]) for norm in (BN, NONE))
    change = difference(bn[0], none[0])
    minimum = FASTER_MINIMUM * change["baseline_mean"]
    verdict = judge(change["ci_low"], change["ci_high"], change["estimate"], -1, minimum)
    if bn[1] == len(bn[0]) and none[1] == len(none[0]):
        verdict, found["note"] = INCONCLUSIVE, "neither arm reached the target in any run"
    first = info.base.get("training", {}).get("eval_every")
    if set(bn[0]) | set(none[0]) == {first}:
        verdict, found["note"] = INCONCLUSIVE, "every run reached the target at the first evaluation: too early to tell"
    return {**found, "difference": change, "minimum": minimum, "verdict": verdict}


def _faster_section(result: StudyResult, name: str) -> dict[str, Any]:
    """One dataset: at the shared learning rate (reported) and at each arm's best one (judged)."""
    info, cells = section(result, name)
    if info is None:
        return {"section": name, "missing": [f"section {name}"], "verdict": INCONCLUSIVE}
    shared = _steps_comparison(info, {norm: arm(cells, norm, lr=SHARED_LR) for norm in (NONE, BN)})
    tuned = _steps_comparison(info, {norm: best_lr(cells, norm) for norm in (NONE, BN)})
    return {"section": name, "target": target(info), "shared_lr": shared, "best_lr": tuned, "verdict": tuned["verdict"]}


def _steps_words(found: dict[str, Any]) -> str:
    """e.g. 'learning_rate: BN 120 vs none 400 steps (difference -280, 95% CI [-350, -210])'."""
    tuned = found.get("best_lr", {})
    if "difference" not in tuned:
        return f"{found['section']}: missing {', '.join(tuned.get('missing', found.get('missing', [])))}"
    change = tuned["difference"]
    interval = (
        "no interval" if change["ci_low"] is None else f"95% CI [{change['ci_low']:.0f}, {change['ci_high']:.0f}]"
    )
    means = [tuned[norm]["steps"]["mean"] for norm in (BN, NONE)]
    return f"{found['section']}: BN {means[0]:.0f} vs none {means[1]:.0f} steps ({change['estimate']:+.0f}, {interval})"


def faster(result: StudyResult) -> dict[str, Any]:
    """Claim 1: fewer steps to the target validation accuracy, each arm at its own best learning rate."""
    sections = [_faster_section(result, name) for name in CLAIM_SECTIONS["faster"]]
    verdict = combine([found["verdict"] for found in sections])
    words = (
        f"Per dataset section, the steps each run needs to reach the target validation accuracy ({TARGET_WORDS}); a "
        "run that never reaches it counts as its planned length + 1 (censored at its length, which understates the "
        "difference). Each arm is taken at its own best learning rate (no diverged or failed-to-learn run, highest "
        "mean final validation accuracy) and judged: "
        + rule("BN's minus none's mean steps", -1, f"{FASTER_MINIMUM:.0%} of none's mean steps")
        + f". Supported when every section is, not supported when any is not. Both arms at lr {SHARED_LR:g} are "
        "reported, not judged."
    )
    finding = "At each arm's best learning rate: " + "; ".join(map(_steps_words, sections)) + "."
    return make_claim(FASTER, verdict, words, {"sections": sections}, finding)


def _largest_stable(cells: list[CellResult], norm: str, lrs: list[float], goal: float | None) -> dict[str, Any]:
    """Per learning rate the outcome, and the largest one that is stable."""
    per = {lr: arm(cells, norm, lr=lr) for lr in lrs}
    found = [{"lr": lr, **outcome(cell), "stable": stable(cell, goal)} for lr, cell in per.items() if cell is not None]
    largest = max((row["lr"] for row in found if row["stable"]), default=None)
    return {
        "largest_stable_lr": largest,
        "per_lr": found,
        "missing": missing({f"{norm} lr {k:g}": c for k, c in per.items()}),
    }


def _lr_verdict(bn: float | None, none: float | None, smallest: float) -> tuple[str, float | None]:
    """BN's largest stable lr over none's; none's below the grid counts as below its smallest value."""
    if bn is None:
        return (INCONCLUSIVE if none is None else NOT_SUPPORTED), None
    factor = bn / (none if none is not None else smallest)
    if factor >= LR_FACTOR * (1 - 1e-9):
        return SUPPORTED, factor
    return (NOT_SUPPORTED if none is not None and factor <= 1 else INCONCLUSIVE), factor


def _lr_section(result: StudyResult, name: str) -> dict[str, Any]:
    """One dataset: each arm's largest stable learning rate and their factor."""
    info, cells = section(result, name)
    if info is None:
        return {"section": name, "missing": [f"section {name}"], "verdict": INCONCLUSIVE}
    lrs, goal = sorted(info.grid.get(LR, [])), target(info)
    arms = {norm: _largest_stable(cells, norm, lrs, goal) for norm in (NONE, BN)}
    verdict, factor = _lr_verdict(arms[BN]["largest_stable_lr"], arms[NONE]["largest_stable_lr"], min(lrs, default=1))
    lacking = arms[NONE]["missing"] + arms[BN]["missing"]
    verdict = INCONCLUSIVE if lacking else verdict
    return {"section": name, "target": goal, **arms, "factor": factor, "missing": lacking, "verdict": verdict}


def higher_lr(result: StudyResult) -> dict[str, Any]:
    """Claim 2: BN's largest stable learning rate is at least 3x none's on every dataset."""
    sections = [_lr_section(result, name) for name in CLAIM_SECTIONS["higher_lr"]]
    verdict = combine([found["verdict"] for found in sections])
    words = (
        "Per dataset section and arm, the largest learning rate at which no run diverged or failed to learn and the "
        f"mean final validation accuracy is at least the target ({TARGET_WORDS}). Supported when BN's is at least "
        f"{LR_FACTOR:g}x none's on every section (one step of a half-decade grid); not supported when BN's is lower "
        "than or equal to none's on some section; inconclusive otherwise (a smaller factor, or cells without runs). "
        "When no rate is stable for none, its largest stable rate is below the grid's smallest."
    )
    finding = "; ".join(
        f"{found['section']}: largest stable lr BN {found.get(BN, {}).get('largest_stable_lr')} vs none "
        f"{found.get(NONE, {}).get('largest_stable_lr')}"
        + (f" ({found['factor']:.3g}x)" if found.get("factor") else "")
        for found in sections
    )
    return make_claim(HIGHER_LR, verdict, words, {"sections": sections}, finding + ".")


def _ranges(cells: list[CellResult], norm: str, scales: list[float]) -> dict[int, float]:
    """Per seed, max - min over the init scales of its final validation accuracy (seeds with every scale only)."""
    by_seed: dict[int, dict[float, float]] = {}
    for scale in scales:
        cell = arm(cells, norm, **{INIT: scale})
        for job in finished(cell) if cell is not None else []:
            if (accuracy := scored(job, "final_val_acc")) is not None:
                by_seed.setdefault(job.seed, {})[scale] = accuracy
    return {seed: max(acc.values()) - min(acc.values()) for seed, acc in by_seed.items() if len(acc) == len(scales)}


def _per_scale(cells: list[CellResult], norm: str, scales: list[float]) -> list[dict[str, Any]]:
    """Each init scale's outcome for one arm."""
    return [{"scale": scale, **outcome(cell)} for scale in scales if (cell := arm(cells, norm, **{INIT: scale}))]


def initialization(result: StudyResult) -> dict[str, Any]:
    """Claim 3: across init scales, BN's accuracy spreads less than none's, paired by seed."""
    info, cells = section(result, CLAIM_SECTIONS["initialization"][0])
    scales = sorted(info.grid.get(INIT, [])) if info else []
    ranges = {norm: _ranges(cells, norm, scales) for norm in (NONE, BN)}
    seeds = sorted(set(ranges[NONE]) & set(ranges[BN]))
    paired = summarize([ranges[BN][seed] - ranges[NONE][seed] for seed in seeds])
    verdict = INCONCLUSIVE
    if paired is not None and paired["n"] >= 2:
        verdict = judge(paired["ci_low"], paired["ci_high"], paired["mean"], -1, INIT_MINIMUM)
    per_scale = {norm: _per_scale(cells, norm, scales) for norm in (NONE, BN)}
    evidence = {"scales": scales, "ranges": ranges, "seeds": seeds, "difference": paired, "per_scale": per_scale}
    words = (
        "Per arm and seed, the range (max - min) over the initial weight scales of the final validation accuracy, a "
        f"run that diverged or failed to learn counting as chance ({CHANCE:g}); a seed counts when it has every "
        "scale in both arms. The mean over seeds of BN's range minus none's, with a paired t-interval: "
        + rule("that difference", -1, f"{INIT_MINIMUM:g}")
    )
    finding = "Missing: seeds with runs at every init scale in both arms."
    if paired is not None:
        finding = (
            f"BN's accuracy range over init scales minus none's: {paired['mean']:+.3f} over {paired['n']} seeds "
            f"(95% CI [{paired['ci_low']:.3f}, {paired['ci_high']:.3f}])."
        )
    return make_claim(INITIALIZATION, verdict, words, evidence, finding)
