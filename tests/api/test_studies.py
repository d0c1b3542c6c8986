"""POST/GET/cancel/DELETE /v1/studies through the app, on SQLite and PostgreSQL, with tenancy and limits."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from contracts.settings import Settings
from tests.api.helpers import assert_error, job_count

GRID = {
    "name": "lr sweep",
    "base": {"training": {"steps": 20, "eval_every": 10}},
    "grid": {"model.norm": ["none", "batchnorm"], "optimizer.lr": [0.1, 1.0]},
    "seeds": [0, 1],
    "tags": ["sweep"],
}


@pytest.fixture
def create(client: TestClient, alice: dict) -> Callable[..., dict]:
    """Create a study as alice (or `headers`) and return it, asserting a 201."""

    def post(body: dict = GRID, headers: dict = alice) -> dict:
        response = client.post("/v1/studies", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()

    return post


def test_a_grid_study_creates_one_queued_job_per_cell_and_seed(client, alice, create, enqueued):
    study = create()
    assert study["jobs"] == 8 and study["counts"] == {"queued": 8} and study["status"] == "queued"
    assert [cell["values"] for cell in study["cells"]][1] == {"model.norm": "none", "optimizer.lr": 1.0}
    assert all(len(cell["job_ids"]) == 2 and cell["counts"] == {"queued": 2} for cell in study["cells"])
    listed = client.get("/v1/jobs", params={"study_id": study["id"], "limit": 50}, headers=alice).json()["items"]
    assert {job["id"] for job in listed} == {job for cell in study["cells"] for job in cell["job_ids"]}
    job = client.get(f"/v1/jobs/{study['cells'][3]['job_ids'][1]}", headers=alice).json()
    assert (job["spec"]["model"]["norm"], job["spec"]["optimizer"]["lr"], job["spec"]["training"]["seed"]) == (
        "batchnorm",
        1.0,
        1,
    )
    assert job["tags"] == ["sweep"] and job["study_id"] == study["id"]
    assert enqueued  # the dispatcher sent the owner's share once the rows were committed


def test_an_invalid_cell_rejects_the_whole_study_naming_cell_and_field(client, alice, sessions):
    before = job_count(sessions)
    body = {"base": {"model": {"hidden": [100]}}, "grid": {"model.norm": ["none", "groupnorm"]}}
    error = assert_error(client.post("/v1/studies", json=body, headers=alice), 422, "invalid_study")
    assert error["details"][0]["field"] == "body.base"
    assert error["details"][0]["message"].startswith("norm_options.groups=8 must divide every width")
    assert "(cell {'model.norm': 'groupnorm'})" in error["details"][0]["message"]
    assert job_count(sessions) == before


def test_an_unknown_path_is_a_422_naming_it(client, alice):
    error = assert_error(client.post("/v1/studies", json={"grid": {"model.nrm": ["x"]}}, headers=alice), 422)
    assert error["details"][0]["field"] == "body.base.model.nrm"


def test_a_study_past_the_cap_is_a_422(client, alice):
    body = {"grid": {"training.steps": list(range(1, 300))}, "seeds": [0, 1]}
    error = assert_error(client.post("/v1/studies", json=body, headers=alice), 422, "invalid_study")
    assert "598 jobs; at most 500" in error["message"]


def test_a_study_larger_than_the_active_limit_is_a_422_naming_the_setting(client, alice, settings: Settings):
    settings.max_active_jobs = 5
    error = assert_error(client.post("/v1/studies", json=GRID, headers=alice), 422, "study_too_large")
    assert "BNLAB_MAX_ACTIVE_JOBS=5" in error["message"]


def test_a_study_that_does_not_fit_now_is_a_429(client, alice, create, settings: Settings):
    settings.max_active_jobs = 12
    create()
    response = client.post("/v1/studies", json=GRID, headers=alice)
    assert_error(response, 429, "too_many_active_jobs")
    assert "ask for 8 more" in response.json()["error"]["message"] and response.headers["Retry-After"]


def test_threads_above_the_workers_cores_are_a_422(client, alice, settings: Settings):
    body = {"base": {"training": {"threads": settings.max_job_threads + 1}}}
    assert_error(client.post("/v1/studies", json=body, headers=alice), 422)


def test_another_owner_gets_404_on_every_route(client, bob, create):
    study = create()
    for method, path in [
        ("get", ""),
        ("post", "/cancel"),
        ("delete", ""),
        ("get", "/report"),
        ("get", "/report.html"),
        ("get", "/jobs.csv"),
        ("get", "/plots/lr-grid.png"),
    ]:
        response = client.request(method, f"/v1/studies/{study['id']}{path}", headers=bob)
        assert_error(response, 404, "not_found")
    assert client.get("/v1/studies", headers=bob).json()["items"] == []


def test_cancel_then_delete(client, alice, create):
    study = create()
    assert_error(client.delete(f"/v1/studies/{study['id']}", headers=alice), 409, "study_not_finished")
    cancelled = client.post(f"/v1/studies/{study['id']}/cancel", headers=alice).json()
    assert cancelled["counts"] == {"cancelled": 8} and cancelled["status"] == "cancelled"
    assert cancelled["cancel_requested"]
    assert client.delete(f"/v1/studies/{study['id']}", headers=alice).status_code == 204
    assert_error(client.get(f"/v1/studies/{study['id']}", headers=alice), 404)
    job = cancelled["cells"][0]["job_ids"][0]
    assert_error(client.get(f"/v1/jobs/{job}", headers=alice), 404)


def test_listing_pages_with_a_cursor(client, alice, create):
    made = [create({**GRID, "name": f"s{index}", "seeds": [0]})["id"] for index in range(3)]
    first = client.get("/v1/studies", params={"limit": 2}, headers=alice).json()
    second = client.get("/v1/studies", params={"limit": 2, "cursor": first["next_cursor"]}, headers=alice).json()
    assert [item["id"] for item in first["items"] + second["items"]] == made[::-1]
    assert first["items"][0]["jobs"] == 4 and second["next_cursor"] is None
    assert_error(client.get("/v1/studies", params={"cursor": "nope"}, headers=alice), 400, "invalid_cursor")


def test_a_preset_creates_the_whole_experiment(client, alice, create):
    study = create({"preset": "paper-fig1", "scale": 0.1})
    assert study["preset"] == "paper-fig1" and study["scale"] == 0.1 and study["jobs"] == 6
    assert study["sections"][0]["baseline"] == {"model.norm": "none"}
    error = assert_error(client.post("/v1/studies", json={"preset": "claims", "scale": 0}, headers=alice), 422)
    assert error["details"][0]["field"] == "body.scale"
    error = assert_error(client.post("/v1/studies", json={"preset": "claim"}, headers=alice), 422)
    assert error["details"][0] == {"field": "body.preset", "message": "Input should be 'claims' or 'paper-fig1'"}
    error = assert_error(client.post("/v1/studies", json={"grdi": {}}, headers=alice), 422)
    assert error["details"][0]["field"] == "body.grdi"
