"""The study report: counts, every cell aggregated and compared with its baseline, the claims, the plots' URLs."""

from collections.abc import Callable
from typing import Any

from analysis.aggregate import cell_report, counts
from analysis.claims import build_claims
from analysis.plots import catalogue
from analysis.results import StudyResult
from analysis.runs import ACTIVE

FORMATS = ("png", "svg")


def build_report(result: StudyResult, url: Callable[[str, str], str]) -> dict[str, Any]:
    """The report of docs/studies.md; url(name, fmt) gives a plot's URL, so the report never guesses routes."""
    sections = {section.name: section for section in result.sections}
    jobs = [job for cell in result.cells for job in cell.jobs]
    report: dict[str, Any] = {
        "study_id": result.study_id,
        "name": result.name,
        "preset": result.preset,
        "scale": result.scale,
        "partial": any(job.status in ACTIVE for job in jobs),
        "counts": counts(jobs),
        "sections": [{"name": s.name, "base": s.base, "grid": s.grid, "baseline": s.baseline} for s in result.sections],
        "cells": [cell_report(cell, sections.get(cell.section), result.cells) for cell in result.cells],
        "claims": build_claims(result),
    }
    plots = catalogue(report)
    names = {name for name, _ in plots}
    for claim in report["claims"]:
        claim["plots"] = [url(name, "png") for name in claim["plots"] if name in names]
    report["plots"] = [
        {"name": name, "title": title, **{fmt: url(name, fmt) for fmt in FORMATS}} for name, title in plots
    ]
    return report
