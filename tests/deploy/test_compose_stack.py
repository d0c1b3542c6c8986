"""docker-compose.yml for real, on Podman: the README's key command, jobs with BN on and off, a worker restarted in
the middle of a job (it resumes from its checkpoint), two workers sharing the queue.

Slow (minutes: it builds the images) and needs root and Podman: `deploy/podman-test` runs it.
"""

import re
import time
import uuid

import httpx
import pytest

from contracts.spec import CANONICAL_EXAMPLE
from store.repositories.api_keys import KEY_PREFIX
from tests.deploy.conftest import Stack, until

pytestmark = [pytest.mark.compose, pytest.mark.slow, pytest.mark.timeout(2400)]

JOB_TIMEOUT = 600  # seconds for a job of a few thousand steps on a busy two-core machine


@pytest.fixture(scope="module")
def client(stack: Stack) -> httpx.Client:
    """The API as a user reaches it: the published port, a key made by the README's command."""
    # --no-deps: the stack is up, and Podman 4.3 cannot start a container requiring the completed migrate (Stack.up).
    made = stack.compose("run", "--rm", "--no-deps", "api", "bnlab", "keys", "create", "--name", "test")
    keys = [line for line in made.stdout.splitlines() if line.startswith(KEY_PREFIX)]
    assert len(keys) == 1, made.stdout
    (key,) = keys
    return httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def spec(name: str, norm: str = "batchnorm", **training: int) -> dict:
    """The canonical spec (`bnlab spec example`) under another name, norm and training settings."""
    return {
        **CANONICAL_EXAMPLE,
        "name": name,
        "model": {**CANONICAL_EXAMPLE["model"], "norm": norm},
        "training": {**CANONICAL_EXAMPLE["training"], **training},
    }


def submit(client: httpx.Client, job_spec: dict) -> str:
    """POST /v1/jobs, which must accept it; the job's id."""
    response = client.post("/v1/jobs", json=job_spec)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def job(client: httpx.Client, job_id: str) -> dict:
    """GET /v1/jobs/ID."""
    response = client.get(f"/v1/jobs/{job_id}")
    response.raise_for_status()
    return response.json()


def finished(client: httpx.Client, job_id: str) -> dict:
    """The job once it has ended, whichever way."""

    def ended() -> dict | None:
        found = job(client, job_id)
        return found if found["status"] in {"succeeded", "failed", "cancelled"} else None

    return until(ended, f"end of job {job_id}", timeout=JOB_TIMEOUT)


def assert_succeeded(found: dict) -> None:
    """Succeeded with every step trained."""
    assert found["status"] == "succeeded", found["error"]
    assert found["summary"]["steps_done"] == found["spec"]["training"]["steps"]


def newest_checkpoint(stack: Stack, job_id: str) -> int:
    """The step of the job's newest checkpoint in PostgreSQL (0: none yet)."""
    uuid.UUID(job_id)  # an id, safe inside the query
    return int(stack.psql(f"select coalesce(max(step), 0) from checkpoints where job_id = '{job_id}'"))


def training_past_a_checkpoint(stack: Stack, client: httpx.Client, job_id: str) -> bool:
    """Running, with progress, and a checkpoint saved: a stop now has something to resume from."""
    found = job(client, job_id)
    return found["status"] == "running" and found["progress"] > 0 and newest_checkpoint(stack, job_id) > 0


def test_jobs_with_batch_norm_on_and_off_succeed(stack: Stack, client: httpx.Client) -> None:
    """The canonical spec and the same with "norm": "none" both train to the end in the worker container."""
    ids = {norm: submit(client, spec(f"compose-{norm}", norm)) for norm in ("batchnorm", "none")}
    for norm, job_id in ids.items():
        found = finished(client, job_id)
        assert_succeeded(found)
        assert found["spec"]["model"]["norm"] == norm


def test_a_restarted_worker_resumes_its_job_from_the_checkpoint(stack: Stack, client: httpx.Client) -> None:
    """`restart worker` mid-job: the stop hands the job back at a checkpoint, the restarted worker resumes it there.

    The stop costs no attempt and ends well before the grace period (60 s), after which Podman would have killed it.
    """
    job_id = submit(client, spec("compose-long", steps=10000, eval_every=500, checkpoint_every=500))
    until(lambda: training_past_a_checkpoint(stack, client, job_id), "progress and a checkpoint", timeout=JOB_TIMEOUT)
    saved_before = newest_checkpoint(stack, job_id)
    started = time.monotonic()
    stack.compose("restart", "worker")
    assert time.monotonic() - started < 60, "the worker did not stop within its grace period: it was killed"

    found = finished(client, job_id)
    assert_succeeded(found)
    assert found["attempts"] == 1, "the stop spent an attempt: the job was lost, not handed back"
    (worker,) = stack.containers("worker")
    resumed = re.findall(rf"job {job_id}: resuming from the checkpoint of step (\d+)", stack.logs(worker))
    assert len(resumed) == 1, stack.logs(worker)
    assert int(resumed[0]) >= saved_before > 0


def test_two_workers_share_the_queue(stack: Stack, client: httpx.Client) -> None:
    """`up -d --scale worker=2`: a second worker joins and the two train the jobs between them."""
    stack.compose("up", "-d", "--no-deps", "--scale", "worker=2", "worker")
    workers = stack.containers("worker")
    assert len(workers) == 2
    until(lambda: "ready." in stack.logs(workers[1]), "second worker ready", timeout=180)

    ids = [submit(client, spec(f"compose-share-{seed}", steps=1500, seed=seed)) for seed in range(4)]
    for job_id in ids:
        assert_succeeded(finished(client, job_id))
    quoted = ", ".join(f"'{uuid.UUID(job_id)}'" for job_id in ids)
    ran_on = set(stack.psql(f"select distinct split_part(worker, ':', 1) from jobs where id in ({quoted})").split())
    assert ran_on == {f"celery@{stack.hostname(name)}" for name in workers}
