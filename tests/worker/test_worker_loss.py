"""A worker killed mid-job: its lease runs out, the job is queued again and resumed from its last checkpoint by a
worker on another machine (a data dir of its own; the checkpoint lives in the database), and it ends exactly as
a run never interrupted would (rule 7). A worker stopped mid-job (SIGTERM) hands the job back at once instead.
"""

import pytest

from store import CheckpointRepository
from tests.worker.conftest import assert_as_if_never_interrupted, running_worker

pytestmark = pytest.mark.slow

LONG = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [64, 64], "dropout": 0.1},
    "optimizer": {"momentum": 0.9},
    "training": {"steps": 6000, "batch_size": 64, "eval_every": 250, "checkpoint_every": 500},
}


def test_a_lost_job_resumes_on_another_machine_from_its_checkpoint_and_ends_as_if_never_interrupted(backend, tmp_path):
    job_id, elsewhere = backend.submit(**LONG), tmp_path / "another-machine"
    with running_worker(backend, "doomed") as doomed:
        backend.until(lambda session: CheckpointRepository(session).latest(job_id), "first checkpoint")
        doomed.kill()
    assert backend.job(job_id).status == "running"  # killed mid-run: only the lease can tell
    with backend.factory() as session:
        step = CheckpointRepository(session).latest(job_id).step

    with running_worker(backend, "successor", data_dir=elsewhere) as successor:
        job = backend.finished(job_id)
    assert (job.status, job.attempts, job.summary["steps_done"]) == ("succeeded", 2, 6000)
    assert f"job {job_id}: resuming from the checkpoint of step {step}" in successor.log()
    assert not (elsewhere / "checkpoints").exists() and not (backend.settings.data_dir / "checkpoints").exists()
    assert_as_if_never_interrupted(backend, job_id, LONG, tmp_path)


def test_a_stopped_worker_hands_its_job_back_at_once_and_the_next_worker_resumes_it(backend, tmp_path):
    spec = {**LONG, "training": {**LONG["training"], "steps": 3000, "checkpoint_every": 0}}  # only the hand-back saves
    job_id = backend.submit(**spec)
    with running_worker(backend, "stopped") as stopped:
        backend.until(lambda session: backend.points(job_id), "the first evaluation's points")
        assert stopped.stop() == 0  # exits within a step, long before the job's 3000 steps are done
    job = backend.job(job_id)
    assert (job.status, job.worker, job.attempts) == ("queued", None, 0)  # no sweep ran: the worker handed it back
    with backend.factory() as session:
        step = CheckpointRepository(session).latest(job_id).step
    assert 250 <= step < 3000
    assert "asked to stop: handing it back to the queue" in stopped.log()

    with running_worker(backend, "next") as successor:
        job = backend.finished(job_id)
    assert (job.status, job.attempts, job.summary["steps_done"]) == ("succeeded", 1, 3000)
    assert f"job {job_id}: resuming from the checkpoint of step {step}" in successor.log()
    assert_as_if_never_interrupted(backend, job_id, spec, tmp_path)


def test_a_stopped_idle_worker_loses_no_pool_process_on_the_way(backend):
    """The hand-back signal reaches children that never ran a job too: it must not kill them (billiard would
    then start a replacement and wait for it before exiting)."""
    with running_worker(backend, "idle") as idle:
        backend.until(lambda _: "ready." in idle.log() and idle.pool_children(), "the worker and its pool up")
        assert idle.stop() == 0
    assert "exited with" not in idle.log(), idle.log()
