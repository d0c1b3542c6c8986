"""jobs.csv: one row per job, a column per grid path of any section, every summary field, blanks where none applies."""

import csv
import io

from analysis.csv_export import jobs_csv
from tests.analysis.factory import claims_study, healthy, run


def rows(text: str) -> list[dict[str, str]]:
    """The CSV as dicts, by header."""
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_job_with_the_union_of_grid_paths_and_summary_fields():
    def make(section, values, seed):
        if section == "cost":
            return run(seed, status="queued")
        found = healthy(section, values, seed)
        if section == "covariate_shift":
            found.summary["params"] = 31_000
        return found

    result = claims_study(make)
    text = jobs_csv(result)
    header = next(csv.reader(io.StringIO(text)))
    grid = ["model.norm", "optimizer.lr", "model.init.scale", "model.dropout", "training.batch_size"]
    assert header[: 1 + len(grid) + 3] == ["section", *grid, "seed", "job_id", "status"]
    assert header[1 + len(grid) + 3 :] == [*healthy("x", {}, 0).summary, "params"]
    found = rows(text)
    assert len(found) == sum(len(cell.jobs) for cell in result.cells)
    init = next(row for row in found if row["section"] == "initialization")
    assert (init["optimizer.lr"], init["model.init.scale"], init["status"]) == ("", "0.1", "succeeded")
    queued = next(row for row in found if row["section"] == "cost")
    assert (queued["status"], queued["final_val_acc"], queued["params"]) == ("queued", "", "")
    assert {row["params"] for row in found if row["section"] == "covariate_shift"} == {"31000"}
