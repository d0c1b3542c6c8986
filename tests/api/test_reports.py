"""GET /v1/studies/{id}/report, report.html, jobs.csv and plots, on jobs finished through the store's transitions."""

import csv
import io
import random
import uuid

import pytest
from fastapi.testclient import TestClient

from store import MetricRepository, session_scope, states
from tests.api.helpers import assert_error

GRID = {
    "name": "lr sweep",
    "base": {"training": {"steps": 40, "eval_every": 20}},
    "grid": {"model.norm": ["none", "batchnorm"], "optimizer.lr": [0.1, 1.0]},
    "seeds": [0, 1, 2],
}


def finish(sessions, study: dict, accuracy) -> dict[str, list[float]]:
    """Run every job of the study through claim and succeed with a summary and curves; per cell its accuracies."""
    accuracies: dict[str, list[float]] = {}
    with session_scope(sessions) as session:
        for cell in study["cells"]:
            for job_id in map(uuid.UUID, cell["job_ids"]):
                acc = accuracy(cell["values"])
                states.claim(session, job_id, "w", 60)
                points = [("test_acc", step, acc * step / 40) for step in (20, 40)]
                points += [("train_loss", step, 2.0 - acc) for step in (20, 40)]
                MetricRepository(session).upsert(job_id, points)
                summary = {"final_test_acc": acc, "diverged": False, "failed_to_learn": False, "steps_done": 40}
                states.succeed(session, job_id, "w", summary)
                accuracies.setdefault(str(cell["values"]), []).append(acc)
    return accuracies


@pytest.fixture
def study(client: TestClient, alice: dict, sessions) -> tuple[dict, dict]:
    """A finished grid study whose BN cells are 0.2 more accurate, with noise."""
    created = client.post("/v1/studies", json=GRID, headers=alice).json()
    noise = random.Random(0)
    bonus = {"none": 0.0, "batchnorm": 0.2}
    return created, finish(sessions, created, lambda values: 0.5 + bonus[values["model.norm"]] + noise.random() / 50)


def test_the_report_aggregates_each_cell_and_compares_with_the_baseline(client, alice, study):
    created, accuracies = study
    report = client.get(f"/v1/studies/{created['id']}/report", headers=alice).json()
    assert report["partial"] is False and report["study_id"] == created["id"]
    assert len(report["cells"]) == 4
    for cell in report["cells"]:
        values = accuracies[str(cell["values"])]
        assert cell["n"] == 3 and abs(cell["summary"]["final_test_acc"]["mean"] - sum(values) / 3) < 1e-12
        assert cell["curves"]["test_acc"]["steps"] == [20, 40]
    bn = next(cell for cell in report["cells"] if cell["values"] == {"model.norm": "batchnorm", "optimizer.lr": 1.0})
    assert bn["comparison"]["baseline"] == {"model.norm": "none", "optimizer.lr": 1.0}
    difference = bn["comparison"]["fields"]["final_test_acc"]
    assert difference["ci_low"] > 0.15 and difference["ci_high"] < 0.25


def test_a_report_while_jobs_run_is_partial(client, alice):
    created = client.post("/v1/studies", json=GRID, headers=alice).json()
    report = client.get(f"/v1/studies/{created['id']}/report", headers=alice).json()
    assert report["partial"] is True and all(cell["n"] == 0 for cell in report["cells"])


def test_the_csv_has_a_row_per_job(client, alice, study):
    created, _ = study
    response = client.get(f"/v1/studies/{created['id']}/jobs.csv", headers=alice)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 12 and {row["seed"] for row in rows} == {"0", "1", "2"}
    assert {"section", "model.norm", "optimizer.lr", "job_id", "status", "final_test_acc"} <= set(rows[0])


def test_every_listed_plot_is_served_as_png_and_svg(client, alice, study):
    created, _ = study
    report = client.get(f"/v1/studies/{created['id']}/report", headers=alice).json()
    assert {"lr-grid", "curves-grid-test_acc", "curves-grid-train_loss"} <= {plot["name"] for plot in report["plots"]}
    for plot in report["plots"]:
        png = client.get(plot["png"], headers=alice)
        assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
        svg = client.get(plot["svg"], headers=alice)
        assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    error = assert_error(client.get(f"/v1/studies/{created['id']}/plots/nope.png", headers=alice), 404)
    assert "lr-grid" in error["message"]
    assert_error(client.get(f"/v1/studies/{created['id']}/plots/lr-grid.gif", headers=alice), 422)


def test_the_page_is_self_contained(client, alice, study):
    created, _ = study
    page = client.get(f"/v1/studies/{created['id']}/report.html", headers=alice)
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "lr sweep" in page.text
    assert "https://" not in page.text.replace("https://doi.org", "")
