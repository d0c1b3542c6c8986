"""A job over several processes (training.processes): SyncBatchNorm matches one process, per-rank BN does not;
runs repeat bit for bit, resume exactly, stop together, and a lost rank ends the attempt instead of hanging it."""

import os
import signal
from pathlib import Path

import pytest
import torch

from contracts.spec import JobSpec
from tests.worker.engine.conftest import Collector, assert_same_tensors, unmeasured
from worker.engine import RankLost, train

STEPS = 24


def spec_for(norm: str, processes: int, dropout: float = 0.0, **training) -> JobSpec:
    """An mnist1d MLP whose batch of 60 splits over 1, 2 or 3 ranks; a checkpoint at the last step holds its weights."""
    return JobSpec.model_validate(
        {
            "dataset": {"name": "mnist1d"},
            "model": {"hidden": [32, 32], "norm": norm, "dropout": dropout},
            "optimizer": {"lr": 0.1},
            "training": {
                "steps": STEPS,
                "batch_size": 60,
                "eval_every": 8,
                "checkpoint_every": STEPS,
                "processes": processes,
                **training,
            },
        }
    )


def trained(spec, data_dir, reporter: Collector | None = None, **kwargs) -> Collector:
    """Train `spec`, keeping its points and checkpoints."""
    reporter = reporter or Collector()
    reporter.summary = train(spec, reporter, data_dir, **kwargs).to_dict()
    return reporter


def rank_processes() -> list[int]:
    """Pids of this process's children that are ranks of a job."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat, command = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
        except OSError:  # it exited meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"worker.engine.rank" in command:
            pids.append(int(entry.name))
    return pids


class Signalling(Collector):
    """Sends `signum` to rank 1 after `at_step` steps, from rank 0's reporter."""

    def __init__(self, signum: int, at_step: int) -> None:
        super().__init__()
        self.signum, self.at_step, self.sent = signum, at_step, False

    def progress(self, step: int, total: int) -> None:
        super().progress(step, total)
        if step >= self.at_step and not self.sent:
            (child,) = rank_processes()
            os.kill(child, self.signum)
            self.sent = True


@pytest.fixture(scope="module")
def solo(data_dir) -> Collector:
    """The batch-norm job in one process: the reference the synchronized runs must match."""
    return trained(spec_for("sync_batchnorm", 1), data_dir)


@pytest.mark.parametrize("processes", [2, 3])
def test_sync_batchnorm_over_processes_matches_one_process(solo, data_dir, processes):
    run = trained(spec_for("sync_batchnorm", processes), data_dir)
    for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
        expected, got = solo.series(name), run.series(name)
        assert got.keys() == expected.keys()
        assert got == pytest.approx(expected, abs=1e-5), name
    weights, reference = run.checkpoint()["model"], solo.checkpoint()["model"]
    for key in reference:
        torch.testing.assert_close(weights[key], reference[key], atol=1e-5, rtol=1e-4, msg=key)


def test_per_rank_batchnorm_does_not_match_one_process(solo, data_dir):
    one = trained(spec_for("batchnorm", 1), data_dir)
    two = trained(spec_for("batchnorm", 2), data_dir)
    assert one.series("train_loss") == pytest.approx(solo.series("train_loss"), abs=1e-6)  # same model in one process
    difference = max(
        (two.checkpoint()["model"][key] - one.checkpoint()["model"][key]).abs().max().item()
        for key in one.checkpoint()["model"]
        if key.endswith("weight")
    )
    assert difference > 1e-3  # each rank normalized its 30 examples by their own statistics


def test_a_multi_process_job_repeats_bit_for_bit(data_dir):
    spec = spec_for("batchnorm", 2, checkpoint_every=8)
    first, second = trained(spec, data_dir), trained(spec, data_dir)
    assert first.deterministic() == second.deterministic()
    assert unmeasured(first.summary) == unmeasured(second.summary)
    assert_same_tensors(first.checkpoint()["model"], second.checkpoint()["model"])


def test_a_paused_multi_process_job_resumes_exactly(data_dir):
    spec = spec_for("sync_batchnorm", 2, dropout=0.2, checkpoint_every=8)  # every rank's dropout stream resumes
    whole = trained(spec, data_dir)
    paused = trained(spec, data_dir, Collector(pause_after=8))
    assert paused.summary["stop_reason"] == "paused" and paused.summary["steps_done"] == 8
    state = paused.checkpoint(8)
    assert len(state["rank_rngs"]) == 1  # rank 1's stream beside rank 0's
    resumed = trained(spec, data_dir, resume=state)
    assert resumed.deterministic() == [point for point in whole.deterministic() if point[0] > 8]
    assert_same_tensors(resumed.checkpoint()["model"], whole.checkpoint()["model"])


@pytest.mark.parametrize("norm", ["batchnorm", "batch_renorm"])
def test_per_rank_statistics_resume_exactly(data_dir, norm):
    """Rank 1's running statistics stay its own with batchnorm (never read: rank 0 alone evaluates and saves), but are
    rank 0's at every forward with batch renorm, whose training reads them; either way a resume changes nothing."""
    spec = spec_for(norm, 2, checkpoint_every=8)
    whole = trained(spec, data_dir)
    resumed = trained(spec, data_dir, resume=trained(spec, data_dir, Collector(pause_after=8)).checkpoint(8))
    assert resumed.deterministic() == [point for point in whole.deterministic() if point[0] > 8]
    assert_same_tensors(resumed.checkpoint()["model"], whole.checkpoint()["model"])


def test_a_stop_ends_every_rank_at_the_same_step(data_dir):
    cancelled = trained(spec_for("batchnorm", 3), data_dir, Collector(stop_after=5))
    assert cancelled.summary["stop_reason"] == "cancelled" and cancelled.summary["steps_done"] == 5
    assert rank_processes() == []


def test_a_killed_rank_ends_the_attempt(data_dir):
    with pytest.raises(RankLost, match="rank 1 of 2 ended \\(killed by SIGKILL\\)"):
        trained(spec_for("batchnorm", 2, steps=100_000, checkpoint_every=0), data_dir, Signalling(signal.SIGKILL, 3))
    assert rank_processes() == []


def test_a_hung_rank_ends_the_attempt_at_the_collective_timeout(data_dir):
    spec = spec_for("batchnorm", 2, steps=100_000, checkpoint_every=0)
    with pytest.raises(RankLost, match="stopped answering"):
        trained(spec, data_dir, Signalling(signal.SIGSTOP, 3), collective_timeout_s=3)
    assert rank_processes() == []  # the stopped rank was killed, not left behind
