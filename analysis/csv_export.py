"""A study's jobs as CSV: one row per run with its cell's grid values and its summary, for a spreadsheet or pandas."""

import csv
import io
import json

from analysis.results import StudyResult


def jobs_csv(result: StudyResult) -> str:
    """section, every grid path (empty where a section lacks it), seed, job_id, status, then every summary field."""
    paths = list(dict.fromkeys(path for section in result.sections for path in section.grid))
    paths += [path for path in dict.fromkeys(p for cell in result.cells for p in cell.values) if path not in paths]
    jobs = [(cell, job) for cell in result.cells for job in cell.jobs]
    fields = list(dict.fromkeys(key for _, job in jobs for key in (job.summary or {})))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", *paths, "seed", "job_id", "status", *fields])
    for cell, job in jobs:
        grid = [_cell_text(cell.values.get(path)) for path in paths]
        summary = [_cell_text((job.summary or {}).get(key)) for key in fields]
        writer.writerow([cell.section, *grid, job.seed, job.job_id, job.status, *summary])
    return out.getvalue()


def _cell_text(value: object) -> object:
    """None is an empty cell, a list or object its JSON; a number or string as csv writes it."""
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, list | dict) else value
