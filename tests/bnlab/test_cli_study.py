"""`bnlab study create|watch|report|list` against a fake API serving the study routes with canned JSON."""

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import Request, Response

from tests.api.servers import serving_in_thread
from tests.bnlab.conftest import bnlab
from tests.bnlab.fake_api import KEY, api_error, fake_app

GRID = {
    "name": "bn-grid",
    "base": {"dataset": {"name": "blobs"}, "training": {"steps": 50}},
    "grid": {"model.norm": ["none", "batchnorm"], "optimizer.lr": [0.1, 1.0]},
    "seeds": [0, 1, 2],
    "tags": ["cli"],
}
STUDY_ID = "6a3c1d7e-0000-4000-8000-000000000001"
FAILED_ID = "6a3c1d7e-0000-4000-8000-000000000002"
EVIL_ID = "6a3c1d7e-0000-4000-8000-000000000003"
FLAKY_ID = "6a3c1d7e-0000-4000-8000-000000000004"  # its second poll finds the database away (503)
PNG, SVG, CSV, HTML = b"\x89PNG fake", b"<svg>fake</svg>", b"section,seed\ngrid,0\n", b"<html>report</html>"
CLAIMS = [
    {
        "id": "faster",
        "verdict": "supported",
        "rule": "steps to target lower with BN",
        "evidence": {"steps": [100, 400]},
        "summary": "BN 100 vs none 400 steps.",
    },
    {
        "id": "higher_lr",
        "verdict": "inconclusive",
        "rule": "trains at lr 1.0",
        "evidence": {"diverged": 1},
        "summary": "The evidence is not strong enough either way.",
    },
]
# The statuses a study goes through, one per poll: `bnlab study watch` must keep polling until a finished one.
PROGRESSION = [
    ("queued", {"queued": 12}),
    ("running", {"queued": 6, "running": 2, "succeeded": 4}),
    ("succeeded", {"succeeded": 12}),
]


def study(study_id: str, status: str, counts: dict[str, int]) -> dict:
    """A study as GET /v1/studies/{id} answers it: two cells of the grid, each with its counts."""
    cells = [
        {"section": "grid", "values": {"model.norm": norm}, "job_ids": [], "counts": {"succeeded": 6}}
        for norm in ("none", "batchnorm")
    ]
    return {
        "id": study_id,
        "name": "bn-grid",
        "status": status,
        "preset": None,
        "scale": None,
        "counts": counts,
        "cells": cells,
        "jobs": 12,
        "created_at": "2026-01-02T03:04:05.678Z",
    }


def plot(name: str) -> dict:
    """A plot as a report lists it."""
    return {"name": name, "title": name, "png": f"/v1/studies/{STUDY_ID}/plots/{name}.png", "svg": f"/v1/plots/{name}"}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, list]]:
    """The fake API's URL and the bodies POST /v1/studies received."""
    app, received, polls = fake_app(), [], {STUDY_ID: 0, FLAKY_ID: 0}

    @app.post("/v1/studies", status_code=201)
    async def create(request: Request) -> dict:
        """Records the body; answers with a study of 12 jobs."""
        received.append(await request.json())
        return study(STUDY_ID, "queued", {"queued": 12})

    @app.get("/v1/studies")
    async def listing() -> dict:
        """One page of two studies."""
        return {"items": [study(STUDY_ID, "succeeded", {"succeeded": 12}), study(FAILED_ID, "failed", {})]}

    @app.get("/v1/studies/{study_id}")
    async def get(study_id: str) -> object:
        """The next status of the progression at each poll; a failed study; 404 for others."""
        if study_id == FAILED_ID:
            return study(FAILED_ID, "failed", {"succeeded": 10, "failed": 2})
        if study_id not in polls:
            return api_error(404, "not_found", f"study {study_id} not found: check the id")
        polls[study_id] += 1
        if study_id == FLAKY_ID and polls[study_id] == 2:
            return api_error(503, "database_unavailable", "the database does not answer")
        return study(study_id, *PROGRESSION[min(polls[study_id], len(PROGRESSION)) - 1])

    @app.get("/v1/studies/{study_id}/report")
    async def report(study_id: str) -> dict:
        """Claims and two plots; the evil study lists a plot whose name climbs out of the folder."""
        names = ["../escape"] if study_id == EVIL_ID else ["curves_test_acc", "lr"]
        return {"study_id": study_id, "partial": False, "cells": [], "claims": CLAIMS, "plots": list(map(plot, names))}

    @app.get("/v1/studies/{study_id}/jobs.csv")
    async def jobs_csv(study_id: str) -> Response:
        """The CSV of the jobs."""
        return Response(CSV, media_type="text/csv")

    @app.get("/v1/studies/{study_id}/report.html")
    async def page(study_id: str) -> Response:
        """The HTML page."""
        return Response(HTML, media_type="text/html")

    @app.get("/v1/studies/{study_id}/plots/{name}.png")
    async def png(study_id: str, name: str) -> Response:
        """A PNG plot."""
        return Response(PNG, media_type="image/png")

    @app.get("/v1/plots/{name}")
    async def svg(name: str) -> Response:
        """An SVG plot, at another path: the client must use the path the report gives."""
        return Response(SVG, media_type="image/svg+xml")

    with serving_in_thread(app) as url:
        yield url, received


@pytest.fixture
def client_env(env, fake) -> dict[str, str]:
    """The commands' environment, pointing at the fake API with its key."""
    return {**env, "BNLAB_URL": fake[0], "BNLAB_API_KEY": KEY}


def one_error_line(stderr: str) -> str:
    """The whole of stderr, which must be a single `error: ...` line."""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    return stderr


def test_create_from_a_file_posts_it_and_prints_the_id(tmp_path, client_env, fake):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(GRID))
    result = bnlab("study", "create", path, "--name", "renamed", env=client_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{STUDY_ID}\n" and "12 jobs" in result.stderr
    assert fake[1][-1] == {**GRID, "name": "renamed"}


def test_create_from_a_preset_posts_its_name_and_scale(client_env, fake):
    result = bnlab("study", "create", "--preset", "claims", "--scale", "0.5", env=client_env)
    assert result.returncode == 0, result.stderr
    assert fake[1][-1] == {"preset": "claims", "scale": 0.5}
    assert bnlab("study", "create", "--preset", "paper-fig1", env=client_env).returncode == 0
    assert fake[1][-1] == {"preset": "paper-fig1", "scale": 1.0}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "either a study FILE or --preset"),
        (["grid.json", "--preset", "claims"], "either a study FILE or --preset"),
        (["grid.json", "--scale", "2"], "--scale sizes a --preset"),
        (["missing.json"], "no study file at missing.json"),
        (["notjson.json"], "is not JSON"),
    ],
)
def test_create_refuses_what_it_cannot_send(tmp_path, client_env, fake, args, says):
    (tmp_path / "grid.json").write_text(json.dumps(GRID))
    (tmp_path / "notjson.json").write_text("{grid")
    posted = len(fake[1])
    result = bnlab("study", "create", *args, env=client_env, cwd=tmp_path)
    assert result.returncode != 0 and says in one_error_line(result.stderr)
    assert len(fake[1]) == posted


def test_watch_polls_until_the_study_finishes(client_env):
    result = bnlab("study", "watch", STUDY_ID, env=client_env)
    assert result.returncode == 0, result.stderr
    assert f"study {STUDY_ID} succeeded" in result.stdout and f"/v1/studies/{STUDY_ID}/report.html" in result.stdout
    assert re.search(r"model\.norm=batchnorm\s.*\s6\s", result.stderr) and "succeeded, 12 jobs" in result.stderr


def test_watch_keeps_polling_through_an_outage(client_env):
    result = bnlab("study", "watch", FLAKY_ID, env=client_env)
    assert result.returncode == 0, result.stderr
    assert f"study {FLAKY_ID} succeeded" in result.stdout and "error" not in result.stderr


def test_watch_of_a_failed_study_exits_1(client_env):
    result = bnlab("study", "watch", FAILED_ID, env=client_env)
    assert result.returncode == 1 and f"study {FAILED_ID} failed" in result.stdout
    assert result.stderr.endswith(f"error: study {FAILED_ID} failed (10 succeeded, 2 failed)\n")


def test_report_downloads_every_file_and_shows_the_claims(tmp_path, client_env):
    out = tmp_path / "report"
    result = bnlab("study", "report", STUDY_ID, "--out", out, env=client_env)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "report.json").read_text())["claims"] == CLAIMS
    assert (out / "jobs.csv").read_bytes() == CSV and (out / "report.html").read_bytes() == HTML
    for name in ("curves_test_acc", "lr"):
        assert (out / f"{name}.png").read_bytes() == PNG and (out / f"{name}.svg").read_bytes() == SVG
    assert re.search(r"faster\s.*\ssupported\s.*BN 100 vs none 400 steps", result.stdout)
    assert "inconclusive" in result.stdout and "not strong enough" in result.stdout
    assert "diverged" not in result.stdout  # the evidence is in report.json, not on the terminal
    printed = {line for line in result.stdout.splitlines() if line.startswith(str(out))}
    assert printed == {str(path) for path in out.iterdir()} and len(printed) == 7


def test_report_refuses_a_plot_named_outside_the_folder(tmp_path, client_env):
    result = bnlab("study", "report", EVIL_ID, "--out", tmp_path / "report", env=client_env)
    assert result.returncode != 0 and "not a plain file name" in one_error_line(result.stderr)
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "report").exists()


def test_list_shows_every_study(client_env):
    result = bnlab("study", "list", env=client_env)
    assert result.returncode == 0, result.stderr
    assert STUDY_ID in result.stdout and FAILED_ID in result.stdout and "2026-01-02 03:04:05" in result.stdout


def test_api_errors_are_one_line_with_the_api_message(client_env):
    missing = bnlab("study", "watch", "6a3c1d7e-0000-4000-8000-00000000dead", env=client_env)
    assert missing.returncode == 1
    assert "not found: check the id (HTTP 404)" in one_error_line(missing.stderr)
    wrong_key = bnlab("study", "list", env={**client_env, "BNLAB_API_KEY": "bnl_wrong"})
    assert one_error_line(wrong_key.stderr) == "error: send a valid API key (HTTP 401)\n"
