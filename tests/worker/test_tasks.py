"""A real worker process runs jobs to each of their ends: succeeded, diverged, failed, cancelled."""

import io
import uuid
from pathlib import Path

import pytest
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.broker import enqueue
from store import FINISHED, Checkpoint, CheckpointRepository, Job, MetricRepository, session_scope, states
from tests.worker.conftest import SMALL, Backend, WorkerProcess, running_worker, small
from tests.worker.engine.conftest import WALL_CLOCK

pytestmark = pytest.mark.slow

METRICS = {"train_loss", "train_acc", "test_loss", "test_acc", "lr", "grad_norm", *WALL_CLOCK}
DIVERGING = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [16], "norm": "none", "init": {"scheme": "normal", "std": 100.0}},
    "optimizer": {"lr": 100.0},
    "training": {"steps": 200, "batch_size": 32, "eval_every": 50},
}


@pytest.fixture(scope="module")
def worker(backend: Backend):
    """One worker for this module's jobs, per setup."""
    with running_worker(backend, "tasks") as process:
        yield process


def test_a_small_job_succeeds_with_summary_metrics_and_progress(backend, worker):
    job = backend.finished(backend.submit(**SMALL))
    assert (job.status, job.progress, job.attempts, job.error) == ("succeeded", 1.0, 1, None)
    assert job.summary["steps_done"] == 200 and job.summary["stop_reason"] == "completed"
    assert job.summary["final_test_acc"] > 0.5 and job.summary["diverged"] is False
    points = backend.points(job.id)
    assert set(points) == {(name, step) for name in METRICS for step in (50, 100, 150, 200)}
    assert points["test_acc", 200] == job.summary["final_test_acc"]
    assert job.worker.startswith("tasks-") and job.lease_expires_at is None


def test_a_diverging_run_is_an_outcome_not_a_failure(backend, worker):
    job = backend.finished(backend.submit(**DIVERGING))
    assert (job.status, job.error, job.summary["diverged"]) == ("succeeded", None, True)
    assert 0 < job.summary["diverged_at_step"] <= 200 and job.summary["stop_reason"] == "diverged"


def test_a_dataset_error_fails_the_job_and_the_worker_goes_on(backend, worker):
    broken, fine = backend.submit(dataset={"name": "mnist"}), backend.submit(**SMALL)
    job = backend.finished(broken)
    assert job.status == "failed"
    assert str(backend.settings.data_dir / "mnist" / "train-images-idx3-ubyte") in job.error
    assert backend.finished(fine).status == "succeeded"


def test_a_running_job_is_cancelled_with_its_partial_metrics(backend, worker):
    job_id = backend.submit(**small(steps=200_000))
    backend.until(lambda session: MetricRepository(session).names(job_id), "metric points of the running job")
    with session_scope(backend.factory) as session:
        states.request_cancel(session, job_id)
    job = backend.finished(job_id, timeout=10)
    assert (job.status, job.summary["stop_reason"]) == ("cancelled", "cancelled")
    steps = {step for _, step in backend.points(job_id)}
    assert 0 < max(steps) <= job.summary["steps_done"] < 200_000
    assert 0 < job.progress < 1


def test_checkpoints_are_written_and_only_the_latest_kept(backend, worker):
    """In the database (any worker can resume), one per job while it runs, loadable weights-only, none once done."""
    job_id, seen = backend.submit(**small(steps=4000, checkpoint_every=500)), []

    def watch(session: Session) -> bool:
        rows = session.execute(select(Checkpoint.step, Checkpoint.data).where(Checkpoint.job_id == job_id)).all()
        assert len(rows) <= 1, f"more than one checkpoint kept: steps {[step for step, _ in rows]}"
        if rows and (not seen or seen[-1][0] != rows[0].step):
            seen.append(tuple(rows[0]))
        return session.get(Job, job_id).status in FINISHED

    backend.until(watch, f"end of job {job_id}")
    assert backend.job(job_id).status == "succeeded"
    steps = [step for step, _ in seen]
    assert len(steps) >= 2 and steps == sorted(steps) and set(steps) <= set(range(500, 4001, 500))
    for step, data in seen:
        assert torch.load(io.BytesIO(data), weights_only=True)["step"] == step
    with session_scope(backend.factory) as session:
        assert CheckpointRepository(session).latest(job_id) is None
    assert not (backend.settings.data_dir / "checkpoints").exists()


def test_torch_is_loaded_in_the_pool_child_only(backend, worker: WorkerProcess):
    """Rule 11: the process that forks the pool never imports torch."""
    backend.finished(backend.submit(**SMALL))
    assert "libtorch" not in Path(f"/proc/{worker.process.pid}/maps").read_text()
    assert any("libtorch" in Path(f"/proc/{child}/maps").read_text() for child in worker.pool_children())


def test_a_job_that_does_not_exist_is_skipped(backend, worker):
    enqueue(backend.app, uuid.uuid4())
    assert backend.finished(backend.submit(**SMALL)).status == "succeeded"
    assert "left alone" in worker.log()
