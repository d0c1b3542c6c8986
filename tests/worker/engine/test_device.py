"""training.device: where a job trains; a worker without a GPU refuses cuda, auto falls back to the CPU; on a GPU
(where there is one) a job trains there and ends as it does on the CPU, up to float rounding."""

import pytest
import torch

from tests.worker.engine.conftest import Collector, tiny_spec
from worker.engine import train
from worker.engine.device import NO_CUDA, job_device, rng_state, set_rng_state

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device on this machine")


def test_cpu_is_the_cpu_and_auto_is_a_rank_s_own_gpu_or_the_cpu_without_one():
    assert job_device("cpu") == torch.device("cpu")
    own_gpu = torch.device("cuda", 3 % torch.cuda.device_count()) if CUDA else torch.device("cpu")
    assert job_device("auto", rank=3) == own_gpu


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device")
def test_a_cuda_job_on_a_worker_without_one_fails_saying_what_to_change(data_dir):
    with pytest.raises(ValueError, match="no CUDA device") as error:
        train(tiny_spec(training={"device": "cuda"}), Collector(), data_dir)
    assert str(error.value) == NO_CUDA and "training.device to cpu or auto" in NO_CUDA


def test_the_rng_state_round_trips():
    state = rng_state(torch.device("cpu"))
    first = torch.rand(4)
    set_rng_state(torch.device("cpu"), state)
    assert torch.equal(torch.rand(4), first)


@needs_cuda
@pytest.mark.parametrize("norm", ["batchnorm", "torch_batchnorm", "ghost_batchnorm", "batch_renorm"])
def test_a_job_on_the_gpu_ends_as_on_the_cpu(data_dir, norm):
    model = {"norm": norm, "norm_options": {"virtual_batch_size": 8}}
    on = {device: Collector() for device in ("cpu", "cuda")}
    for device, reporter in on.items():
        train(tiny_spec(model=model, training={"device": device, "checkpoint_every": 20}), reporter, data_dir)
    assert on["cuda"].series("test_loss") == pytest.approx(on["cpu"].series("test_loss"), rel=1e-3, abs=1e-4)
    for key, value in on["cpu"].checkpoint()["model"].items():
        torch.testing.assert_close(on["cuda"].checkpoint()["model"][key].cpu(), value, atol=1e-4, rtol=1e-3)


@needs_cuda
def test_a_gpu_job_resumes_bit_for_bit_from_its_checkpoint(data_dir):
    spec = tiny_spec(model={"dropout": 0.2}, training={"device": "cuda", "checkpoint_every": 10})
    whole, paused = Collector(), Collector(pause_after=10)
    train(spec, whole, data_dir)
    train(spec, paused, data_dir)
    resumed = Collector()
    train(spec, resumed, data_dir, resume=paused.checkpoint(10))
    assert resumed.deterministic() == [point for point in whole.deterministic() if point[0] > 10]
