"""End to end, as a user: real HTTP to `bnlab serve`, real Celery workers, twice (embedded; PostgreSQL + Redis)."""

import time

import pytest

from tests.bnlab.conftest import bnlab

pytestmark = pytest.mark.slow
FINISHED = {"succeeded", "failed", "cancelled"}


def small_spec(norm: str) -> dict:
    """A job that trains in a second or two."""
    return {
        "name": f"e2e-{norm}",
        "tags": ["e2e"],
        "dataset": {"name": "spirals"},
        "model": {"hidden": [32, 32], "norm": norm},
        "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
        "training": {"steps": 300, "batch_size": 64, "eval_every": 50},
    }


def long_spec() -> dict:
    """A job that would run for minutes: something to cancel."""
    spec = small_spec("batchnorm")
    spec["training"] = {"steps": 200_000, "batch_size": 64, "eval_every": 200}
    return spec


def wait_for(client, job_id: str, statuses: set[str], timeout: float = 180) -> dict:
    """Poll the job until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        assert job["status"] not in FINISHED, job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} never reached {statuses}: {job}")


def test_submit_watch_and_compare_bn_on_and_off(service):
    with service.client() as client:
        ids = []
        for norm in ("batchnorm", "none"):
            response = client.post("/v1/jobs", json=small_spec(norm))
            assert response.status_code == 201, response.text
            assert response.json()["status"] == "queued"
            ids.append(response.json()["id"])
        for job_id in ids:
            job = wait_for(client, job_id, FINISHED)
            assert job["status"] == "succeeded", job
            assert job["summary"]["steps_done"] == 300 and job["progress"] == pytest.approx(1.0)
        series = client.get(f"/v1/jobs/{ids[0]}/metrics", params={"names": "test_acc,train_loss"}).json()["series"]
        assert [step for step, _ in series["test_acc"]] == [50, 100, 150, 200, 250, 300]
        assert set(series) == {"test_acc", "train_loss"}
        comparison = client.get("/v1/compare", params={"ids": ",".join(ids)})
        assert comparison.status_code == 200, comparison.text
        assert "model.norm" in str(comparison.json())
        listed = client.get("/v1/jobs", params={"tag": "e2e", "status": "succeeded"}).json()
        assert set(ids) <= {job["id"] for job in listed["items"]}


def test_cancel_a_running_job(service):
    with service.client() as client:
        job_id = client.post("/v1/jobs", json=long_spec()).json()["id"]
        wait_for(client, job_id, {"running"})
        time.sleep(1.0)
        response = client.post(f"/v1/jobs/{job_id}/cancel")
        assert response.status_code in (200, 202), response.text
        job = wait_for(client, job_id, FINISHED, timeout=60)
        assert job["status"] == "cancelled"
        assert job["summary"]["steps_done"] < 200_000


def test_another_owner_gets_404_everywhere(service):
    created = bnlab("keys", "create", "--name", "eve", env=service.env)
    assert created.returncode == 0, created.stderr
    eve_key = created.stdout.strip()
    with service.client() as alice, service.client(eve_key) as eve:
        job_id = alice.post("/v1/jobs", json=small_spec("batchnorm")).json()["id"]
        wait_for(alice, job_id, FINISHED)
        assert eve.get(f"/v1/jobs/{job_id}").status_code == 404
        assert eve.get(f"/v1/jobs/{job_id}/metrics").status_code == 404
        assert eve.post(f"/v1/jobs/{job_id}/cancel").status_code == 404
        assert eve.delete(f"/v1/jobs/{job_id}").status_code == 404
        assert job_id not in {job["id"] for job in eve.get("/v1/jobs").json()["items"]}
        assert alice.get(f"/v1/jobs/{job_id}").status_code == 200


def test_no_key_is_401(service):
    with service.client("bnl_not-a-real-key") as stranger:
        assert stranger.get("/v1/jobs").status_code == 401
