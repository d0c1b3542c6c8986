"""Synthetic study results: runs with chosen summaries, and a whole claims preset whose runs a test function shapes."""

import itertools
from collections.abc import Callable
from typing import Any

from analysis.results import CellResult, JobResult, SectionInfo, StudyResult
from contracts.presets import BASELINE, SEEDS, claims_sections

_ids = itertools.count()
Maker = Callable[[str, dict[str, Any], int], JobResult]


def run(seed: int = 0, status: str = "succeeded", series: dict[str, Any] | None = None, **summary: Any) -> JobResult:
    """A run; only a succeeded one has a summary."""
    return JobResult(f"job-{next(_ids)}", seed, status, summary if status == "succeeded" else None, series or {})


def healthy(section: str, values: dict[str, Any], seed: int) -> JobResult:
    """An ordinary finished run: learns, reaches the target at step 300, costs 1 ms a step."""
    return run(
        seed,
        final_val_acc=0.8 + 0.001 * seed,
        final_test_acc=0.78 + 0.001 * seed,
        test_acc_at_best_val=0.79,
        final_train_acc=0.85 + 0.002 * seed,
        steps_to_target=300 + seed,
        steps_done=1500,
        train_step_cpu_ms=1.0 + 0.01 * seed,
        diverged=False,
        failed_to_learn=False,
    )


def claims_study(make: Maker = healthy) -> StudyResult:
    """The claims preset at scale 1, every cell run on its 3 seeds by make(section, values, seed)."""
    sections = [SectionInfo(s.name, s.base, s.grid, BASELINE) for s in claims_sections(1.0)]
    cells = []
    for section in sections:
        for combination in itertools.product(*section.grid.values()):
            values = dict(zip(section.grid, combination, strict=True))
            cells.append(CellResult(section.name, values, [make(section.name, values, seed) for seed in SEEDS]))
    return StudyResult("study-1", "claims", "claims", 1.0, sections, cells)


def shaped(section: str, shape: Callable[[dict[str, Any], int], JobResult]) -> Maker:
    """Runs of one section from `shape(values, seed)`, every other section healthy."""
    return lambda name, values, seed: shape(values, seed) if name == section else healthy(name, values, seed)


def norm(values: dict[str, Any]) -> str:
    """The cell's norm."""
    return values["model.norm"]
