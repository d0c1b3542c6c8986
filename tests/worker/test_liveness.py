"""Real workers and the lease (rule 7): a step longer than the lease keeps its job, while a job that keeps
killing its training process ends failed after max_attempts instead of taking workers down forever."""

import os
import signal

import pytest
from sqlalchemy.orm import Session

from store import Job
from tests.worker.conftest import LEASE_S, Backend, WorkerProcess, running_worker

pytestmark = pytest.mark.slow

# One optimizer step of many seconds (far more than the 5 s lease) and no other: 24 ghost batch-norm layers
# normalize 1500 virtual batches of 2 each, forward and backward, in one batch of 3000 points, on the reference
# path (ops per virtual batch; the C++ kernels take about a second for it, too little to outlive a lease).
REFERENCE_PATH = {"BNLAB_BN_KERNELS": "off"}
ONE_LONG_STEP = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [16] * 24, "norm": "ghost_batchnorm", "norm_options": {"virtual_batch_size": 2}},
    "training": {"steps": 1, "batch_size": 3000, "eval_every": 1},
}
KILLED_EVERY_TIME = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [16, 16]},
    "training": {"steps": 200_000, "batch_size": 32, "eval_every": 1000},
}


def test_a_step_longer_than_the_lease_keeps_its_job(backend):
    job_id = backend.submit(**ONE_LONG_STEP)
    with running_worker(backend, "long-step", env=REFERENCE_PATH):

        def renewed_mid_step(session: Session) -> Job | None:
            job = session.get(Job, job_id)
            assert job.attempts <= 1, "the job was lost and claimed again"
            mid_step = job.status == "running" and job.progress == 0
            lease_s = (job.lease_expires_at - job.started_at).total_seconds() if mid_step else 0
            return job if lease_s > LEASE_S + 1 else None  # renewed while the one step still ran

        backend.until(renewed_mid_step, "a lease renewed during the long step")
        job = backend.finished(job_id, timeout=180)
    assert (job.status, job.attempts, job.error, job.summary["steps_done"]) == ("succeeded", 1, None, 1)


def training_process(backend: Backend, worker: WorkerProcess, job_id: object, attempt: int) -> int:
    """The pool child that holds the job in its `attempt`th claim."""

    def holder(session: Session) -> int | None:
        job = session.get(Job, job_id)
        assert job.status in ("queued", "running") and job.attempts <= attempt, (job.status, job.attempts, job.error)
        if job.status != "running" or job.attempts != attempt:
            return None
        pid = int(job.worker.rsplit(":", 1)[1])
        return pid if pid in worker.pool_children() else None

    return backend.until(holder, f"attempt {attempt} of job {job_id} in the pool's child", timeout=120)


def test_a_job_whose_training_process_dies_every_time_fails_after_max_attempts(backend):
    job_id = backend.submit(**KILLED_EVERY_TIME)
    with running_worker(backend, "killed-children") as worker:
        for attempt in range(1, backend.settings.max_attempts + 1):
            os.kill(training_process(backend, worker, job_id, attempt), signal.SIGKILL)  # as the OOM killer does
        job = backend.finished(job_id, timeout=120)
    assert (job.status, job.attempts) == ("failed", 3)
    assert job.error == (
        "the job lost its worker 3 times (the process died: out of memory or a crash?); "
        "make the model or batch smaller, or raise BNLAB_MAX_ATTEMPTS"
    )
