"""Studies end to end over HTTP against a real `bnlab serve` with real workers, on both backends: the report's
aggregates equal what each cell's own jobs report, and the presets run through to plots, verdicts and a page."""

import csv
import io
import statistics
import time
from html.parser import HTMLParser

import httpx
import pytest
from scipy import stats

FINISHED = {"succeeded", "failed", "cancelled"}
VERDICTS = {"supported", "not_supported", "inconclusive"}
CLAIMS = {"faster", "higher_lr", "initialization", "regularization", "cost", "covariate_shift", "small_batches"}
GRID = {
    "name": "e2e",
    "base": {
        "dataset": {"name": "mnist1d"},
        "model": {"hidden": [32, 32]},
        "training": {"steps": 60, "eval_every": 20, "batch_size": 32, "validation_split": 0.2},
    },
    "grid": {"model.norm": ["none", "batchnorm"], "optimizer.lr": [0.1, 1.0]},
    "seeds": [0, 1, 2],
}


def finished_study(client: httpx.Client, body: dict, timeout: float = 240) -> dict:
    """Create the study and wait until every job of it has finished."""
    response = client.post("/v1/studies", json=body)
    assert response.status_code == 201, response.text
    study_id, deadline = response.json()["id"], time.monotonic() + timeout
    while time.monotonic() < deadline:
        study = client.get(f"/v1/studies/{study_id}").json()
        if study["status"] in FINISHED:
            return study
        time.sleep(0.5)
    raise AssertionError(f"the study did not finish in {timeout} s: {study['counts']}")


def expected(values: list[float]) -> dict:
    """The aggregate a report must give for these per-job values: mean, sample std, the t-interval."""
    n, mean = len(values), statistics.fmean(values)
    std = statistics.stdev(values) if n > 1 else 0.0
    half = stats.t.ppf(0.975, n - 1) * std / n**0.5 if n > 1 else 0.0
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def assert_close(actual: dict, wanted: dict) -> None:
    """Equal up to float rounding, key by key."""
    for key, value in wanted.items():
        assert abs(actual[key] - value) <= 1e-9 * max(1.0, abs(value)), (key, actual, wanted)


def test_a_grid_study_reports_what_its_jobs_report(service):
    client = service.client()
    study = finished_study(client, GRID)
    assert study["status"] == "succeeded" and study["counts"] == {"succeeded": 12}
    report = client.get(f"/v1/studies/{study['id']}/report").json()
    assert report["partial"] is False and report["claims"] == []
    by_values = {str(cell["values"]): cell for cell in report["cells"]}
    for cell in study["cells"]:
        summaries = [client.get(f"/v1/jobs/{job}").json()["summary"] for job in cell["job_ids"]]
        reported = by_values[str(cell["values"])]
        finite = [summary for summary in summaries if not summary["diverged"]]
        assert reported["n"] == len(finite) and reported["diverged"] == len(summaries) - len(finite)
        for field in ("final_test_acc", "final_val_acc", "final_train_acc", "best_val_acc", "cpu_time_s"):
            if finite:
                assert_close(reported["summary"][field], expected([summary[field] for summary in finite]))
        assert set(reported["curves"]) >= {"train_loss", "test_acc", "val_acc"}
    rows = list(csv.DictReader(io.StringIO(client.get(f"/v1/studies/{study['id']}/jobs.csv").text)))
    assert len(rows) == 12 and {"model.norm", "optimizer.lr", "seed", "final_test_acc"} <= set(rows[0])
    names = {plot["name"] for plot in report["plots"]}
    assert {"lr-grid", "curves-grid-test_acc"} <= names
    for plot in report["plots"]:
        assert client.get(plot["png"]).content.startswith(b"\x89PNG")
        assert client.get(plot["svg"]).headers["content-type"].startswith("image/svg+xml")
    assert client.get(f"/v1/studies/{study['id']}/plots/nope.png").status_code == 404


class _Tags(HTMLParser):
    """The tags of a page and the addresses its elements load."""

    def __init__(self):
        super().__init__()
        self.tags, self.sources = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.sources += [value for name, value in attrs if name in ("src", "href") and value]


def assert_self_contained(page: str) -> None:
    """No script, nothing fetched from another host."""
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags
    assert not [source for source in parser.sources if source.startswith(("http:", "https:", "//"))]


ONE_BACKEND = pytest.mark.parametrize("service", ["embedded"], indirect=True)  # the grid test covers both


@ONE_BACKEND
def test_paper_fig1_draws_figure_1(service):
    client = service.client()
    study = finished_study(client, {"preset": "paper-fig1", "scale": 0.02})
    report = client.get(f"/v1/studies/{study['id']}/report").json()
    names = {plot["name"] for plot in report["plots"]}
    assert {"curves-fig1-test_acc", "activations-fig1"} <= names
    for cell in report["cells"]:
        assert {"act/h3/p15", "act/h3/p50", "act/h3/p85"} <= set(cell["curves"])
    page = client.get(f"/v1/studies/{study['id']}/report.html")
    assert page.headers["content-type"].startswith("text/html")
    assert_self_contained(page.text)


@ONE_BACKEND
def test_the_claims_preset_gives_a_verdict_on_every_claim(service):
    client = service.client()
    study = finished_study(client, {"preset": "claims", "scale": 0.02}, timeout=600)
    report = client.get(f"/v1/studies/{study['id']}/report").json()
    assert report["partial"] is False
    assert {claim["id"] for claim in report["claims"]} == CLAIMS
    for claim in report["claims"]:
        assert claim["verdict"] in VERDICTS and claim["rule"] and claim["evidence"] and claim["plots"]
        for plot in claim["plots"]:
            assert client.get(plot).content.startswith(b"\x89PNG")
    assert_self_contained(client.get(f"/v1/studies/{study['id']}/report.html").text)
