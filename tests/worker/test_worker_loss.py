"""A worker killed mid-job: its lease runs out, the job is queued again and resumed from its last checkpoint,
and it ends exactly as a run never interrupted would (rule 7).
"""

import pytest

from contracts.spec import JobSpec
from store import CheckpointRepository
from tests.worker.conftest import running_worker
from tests.worker.engine.conftest import WALL_CLOCK, Collector
from worker.engine import train

pytestmark = pytest.mark.slow

LONG = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [64, 64], "dropout": 0.1},
    "optimizer": {"momentum": 0.9},
    "training": {"steps": 6000, "batch_size": 64, "eval_every": 250, "checkpoint_every": 500},
}


def test_a_lost_job_resumes_from_its_checkpoint_and_ends_as_if_never_interrupted(backend, tmp_path):
    job_id = backend.submit(**LONG)
    with running_worker(backend, "doomed") as doomed:
        backend.until(lambda session: CheckpointRepository(session).latest(job_id), "first checkpoint")
        doomed.kill()
    assert backend.job(job_id).status == "running"  # killed mid-run: only the lease can tell

    with running_worker(backend, "successor") as successor:
        job = backend.finished(job_id)
    assert (job.status, job.attempts, job.summary["steps_done"]) == ("succeeded", 2, 6000)
    assert f"job {job_id}: resuming from the checkpoint of step" in successor.log()

    reference = Collector()
    train(JobSpec.model_validate(LONG), reference, tmp_path)
    resumed = {key: value for key, value in backend.points(job_id).items() if key[0] not in WALL_CLOCK}
    assert resumed == {(name, step): value for step, name, value in reference.deterministic()}
