"""Multi-process jobs through a real worker: metrics written once (by rank 0), a killed rank ends the attempt and
the job resumes from its checkpoint as if never interrupted, a cancel stops every rank, a GPU job on a worker
without one fails saying what to change."""

import os
import signal
from pathlib import Path

import pytest
import torch

from contracts.spec import JobSpec
from store import CheckpointRepository, outbox, session_scope, states
from tests.worker.conftest import WorkerProcess, assert_as_if_never_interrupted, running_worker, small
from tests.worker.engine.conftest import WALL_CLOCK, Collector
from worker.engine import train

MULTI = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [32, 32], "norm": "sync_batchnorm", "dropout": 0.1},
    "training": {"steps": 1000, "batch_size": 64, "eval_every": 100, "checkpoint_every": 100, "processes": 2},
}


def rank_processes(worker: WorkerProcess) -> list[int]:
    """The ranks the worker's pool child started for its job (their parent is the child: rank 0)."""
    ranks = []
    for child in worker.pool_children():
        for threads in Path(f"/proc/{child}/task").glob("*/children"):
            ranks += [int(pid) for pid in threads.read_text().split()]
    return ranks


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_multi_process_job_writes_each_point_once(backend, tmp_path):
    spec = small(processes=3, batch_size=30)
    spec["model"] = {**spec["model"], "norm": "sync_batchnorm"}
    with running_worker(backend, "ranks"):
        job = backend.finished(backend.submit(**spec))
    assert (job.status, job.attempts, job.error) == ("succeeded", 1, None)
    reference = Collector()
    one_process = {**spec, "training": {**spec["training"], "processes": 1}}
    train(JobSpec.model_validate(one_process), reference, tmp_path / "reference")
    stored = {key: value for key, value in backend.points(job.id).items() if key[0] not in WALL_CLOCK}
    expected = {(name, step): value for step, name, value in reference.deterministic()}
    assert stored.keys() == expected.keys()  # once per step and name, not once per rank
    assert stored == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_a_killed_rank_ends_the_attempt_and_the_job_resumes_as_if_never_interrupted(backend, tmp_path):
    job_id = backend.submit(**MULTI)
    with running_worker(backend, "ranks") as worker:
        backend.until(lambda session: CheckpointRepository(session).latest(job_id), "first checkpoint")
        (rank,) = rank_processes(worker)
        os.kill(rank, signal.SIGKILL)
        job = backend.finished(job_id, timeout=240)
    assert (job.status, job.attempts, job.summary["steps_done"]) == ("succeeded", 2, 1000)
    assert "rank 1 of 2 ended (killed by SIGKILL) during training; it goes back to the queue" in worker.log()
    assert f"job {job_id}: resuming from the checkpoint of step" in worker.log()
    assert_as_if_never_interrupted(backend, job_id, MULTI, tmp_path)


@pytest.mark.slow
def test_a_cancel_stops_every_rank(backend):
    spec = {**MULTI, "training": {**MULTI["training"], "steps": 200_000, "checkpoint_every": 0, "processes": 3}}
    job_id = backend.submit(**{**spec, "training": {**spec["training"], "batch_size": 63}})
    with running_worker(backend, "ranks") as worker:
        backend.until(lambda session: backend.points(job_id), "the first evaluation's points")
        ranks = rank_processes(worker)
        assert len(ranks) == 2 and all(map(alive, ranks))
        with session_scope(backend.factory) as session:
            states.request_cancel(session, job_id)
        job = backend.finished(job_id)
        assert job.status == "cancelled" and job.summary["stop_reason"] == "cancelled"
        backend.until(lambda _: not any(map(alive, ranks)), "every rank gone")
        assert rank_processes(worker) == []


def test_a_gpu_job_waits_for_a_worker_taking_cuda_and_one_without_a_gpu_fails_it_saying_so(backend):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    gpu_job = backend.submit(**small(device="cuda"))
    with session_scope(backend.factory) as session:  # recorded as the dispatcher does: no sweep sends it again
        outbox.mark_dispatched(session, [gpu_job])
    cpu_job = backend.submit(**small(device="auto"))
    with running_worker(backend, "cpu-queue"):
        assert backend.finished(cpu_job).status == "succeeded"
    assert backend.job(gpu_job).status == "queued"  # the cpu worker never took it
    with running_worker(backend, "cuda-queue", queues="cuda") as worker:
        job = backend.finished(gpu_job)
    assert job.status == "failed" and "has no CUDA device" in job.error and "training.device to cpu" in job.error
    assert job.worker.startswith(worker.log_path.stem)
