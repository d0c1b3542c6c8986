"""The whole report: its keys, a claims study, a partial one, a grid study without claims, the plots' URLs."""

import json

import pytest

from analysis.report import build_report
from analysis.results import CellResult, SectionInfo, StudyResult
from tests.analysis.factory import claims_study, healthy, run


def url(name: str, fmt: str) -> str:
    """The API's plot route, as the report should carry it."""
    return f"/v1/studies/study-1/plots/{name}.{fmt}"


KEYS = {"study_id", "name", "preset", "scale", "partial", "counts", "sections", "cells", "claims", "plots"}
CELL_KEYS = {"section", "values", "job_ids", "counts", "n", "diverged", "failed_to_learn", "summary", "comparison"}


def test_a_finished_claims_study_has_every_key_and_seven_judged_claims():
    result = claims_study()
    report = build_report(result, url)
    json.dumps(report, allow_nan=False)
    assert set(report) == KEYS and report["partial"] is False
    assert report["counts"] == {"succeeded": sum(len(cell.jobs) for cell in result.cells)}
    assert len(report["cells"]) == len(result.cells) and set(report["cells"][0]) > CELL_KEYS
    assert [claim["id"] for claim in report["claims"]] == [
        "faster", "higher_lr", "initialization", "regularization", "cost", "covariate_shift", "small_batches"
    ]  # fmt: skip
    assert all(claim["verdict"] in {"supported", "not_supported", "inconclusive"} for claim in report["claims"])


def test_claim_plots_are_png_urls_of_plots_in_the_catalogue():
    report = build_report(claims_study(), url)
    listed = {plot["name"]: plot for plot in report["plots"]}
    assert listed["lr-learning_rate"]["svg"] == url("lr-learning_rate", "svg")
    higher_lr = next(claim for claim in report["claims"] if claim["id"] == "higher_lr")
    assert higher_lr["plots"] == [url("lr-learning_rate", "png"), url("lr-learning_rate_digits", "png")]
    for claim in report["claims"]:
        assert all(link.removeprefix("/v1/studies/study-1/plots/")[:-4] in listed for link in claim["plots"])


def test_a_partial_study_computes_what_it_can_and_says_what_is_missing():
    def make(section, values, seed):
        if section == "cost" or (section == "learning_rate" and values["optimizer.lr"] >= 1.0):
            return run(seed, status="queued" if seed else "running")
        return healthy(section, values, seed)

    report = build_report(claims_study(make), url)
    claims = {claim["id"]: claim for claim in report["claims"]}
    assert report["partial"] is True and report["counts"]["queued"] > 0
    assert claims["cost"]["verdict"] == "inconclusive" and claims["cost"]["evidence"]["missing"]
    section = claims["higher_lr"]["evidence"]["sections"][0]
    assert claims["higher_lr"]["verdict"] == "inconclusive" and "none lr 3" in section["missing"]
    assert claims["faster"]["evidence"]["sections"][0]["best_lr"]["batchnorm"]["lr"] < 1.0  # one with runs
    queued = next(cell for cell in report["cells"] if cell["section"] == "cost")
    assert (queued["n"], queued["summary"], queued["curves"]) == (0, {}, {})


def test_a_grid_study_has_no_claims_and_its_own_baseline():
    section = SectionInfo("grid", {}, {"optimizer.name": ["sgd", "adam"]}, {"optimizer.name": "sgd"})
    cells = [
        CellResult("grid", {"optimizer.name": name}, [run(seed, final_test_acc=acc + seed / 100) for seed in range(2)])
        for name, acc in (("sgd", 0.7), ("adam", 0.8))
    ]
    report = build_report(StudyResult("s", "mine", None, None, [section], cells), url)
    assert report["claims"] == []
    assert report["cells"][0]["comparison"] is None
    assert report["cells"][1]["comparison"]["fields"]["final_test_acc"]["difference"] == pytest.approx(0.1)
