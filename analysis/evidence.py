"""What the claims measure on a section's cells: arms, the selected learning rate, steps to target, stability."""

from typing import Any

from analysis.results import CellResult, JobResult, SectionInfo, StudyResult
from analysis.runs import counted, diverged, failed_to_learn, find_cell, finished, section_cells, value, values
from analysis.stats import contrast, summarize
from contracts.presets import TARGETS

NORM = "model.norm"
LR = "optimizer.lr"
BN, NONE = "batchnorm", "none"
CHANCE = 0.1  # 10 classes


def section(result: StudyResult, name: str) -> tuple[SectionInfo | None, list[CellResult]]:
    """The named section and its cells (None and [] when the study has no such section)."""
    info = next((found for found in result.sections if found.name == name), None)
    return info, section_cells(result, name)


def target(info: SectionInfo) -> float | None:
    """The validation accuracy that counts as reached: TARGETS of the section's dataset, else its spec's."""
    dataset = info.base.get("dataset", {}).get("name", "mnist1d")
    return TARGETS.get(dataset, info.base.get("training", {}).get("target_accuracy"))


def arm(cells: list[CellResult], norm: str, **axes: Any) -> CellResult | None:
    """The cell of one norm at the given other grid values (keyword `lr` is optimizer.lr, others by full path)."""
    wanted = {NORM: norm, **{(LR if key == "lr" else key): found for key, found in axes.items()}}
    return find_cell(cells, wanted)


def scored(job: JobResult, field: str) -> float | None:
    """An accuracy field of a run, chance for a run that diverged or failed to learn (no accuracy worth the name)."""
    return CHANCE if diverged(job) or failed_to_learn(job) else value(job, field)


def mean_of(cell: CellResult | None, field: str) -> float | None:
    """The field's mean over the cell's counted runs."""
    found = summarize(values(counted(cell), field)) if cell is not None else None
    return None if found is None else found["mean"]


def outcome(cell: CellResult) -> dict[str, Any]:
    """A cell's finished runs by outcome and its mean final validation accuracy."""
    runs = finished(cell)
    return {
        "runs": len(runs),
        "diverged": sum(map(diverged, runs)),
        "failed_to_learn": sum(failed_to_learn(job) and not diverged(job) for job in runs),
        "final_val_acc": mean_of(cell, "final_val_acc"),
    }


def clean(cell: CellResult) -> bool:
    """Some run finished and none diverged or failed to learn."""
    found = outcome(cell)
    return found["runs"] > 0 and found["diverged"] == 0 and found["failed_to_learn"] == 0


def stable(cell: CellResult, goal: float | None) -> bool:
    """Clean, and the mean final validation accuracy is at least the target."""
    accuracy = mean_of(cell, "final_val_acc")
    return clean(cell) and accuracy is not None and goal is not None and accuracy >= goal


def best_lr(cells: list[CellResult], norm: str) -> CellResult | None:
    """The clean cell of this norm with the highest mean final validation accuracy (validation, never test)."""
    scored = [(mean_of(cell, "final_val_acc"), cell) for cell in cells if cell.values.get(NORM) == norm and clean(cell)]
    scored = [(accuracy, cell) for accuracy, cell in scored if accuracy is not None]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def planned_steps(info: SectionInfo, cell: CellResult, job: JobResult) -> float | None:
    """The run's planned length: the cell's training.steps, else the base's, else the steps it did."""
    planned = cell.values.get("training.steps", info.base.get("training", {}).get("steps"))
    return float(planned) if planned is not None else value(job, "steps_done")


def steps_to_target(info: SectionInfo, cell: CellResult) -> tuple[list[float], int]:
    """Each finished run's steps to the target, a run that never reached it censored at its planned length + 1."""
    found, censored = [], 0
    for job in finished(cell):
        steps = value(job, "steps_to_target")
        if steps is None:
            planned = planned_steps(info, cell, job)
            censored += 1
            steps = None if planned is None else planned + 1
        if steps is not None:
            found.append(steps)
    return found, censored


def difference(mine: list[float], theirs: list[float]) -> dict[str, Any] | None:
    """mine - theirs with its Welch 95% interval, and the baseline's mean."""
    found = contrast([(mine, 1.0), (theirs, -1.0)])
    return None if found is None else {**found, "baseline_mean": summarize(theirs)["mean"]}


def missing(cells: dict[str, CellResult | None]) -> list[str]:
    """The labels of the cells that are absent or have no finished run: what a claim lacks."""
    return [label for label, cell in cells.items() if cell is None or not finished(cell)]
