"""bn on CUDA (where this machine has a GPU): the same results as torch.nn.BatchNorm on CUDA, as on the CPU."""

import pytest
import torch
from torch import nn

import bn

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")

SHAPES = [((60, 100), 1), ((100, 25, 40), 1), ((64, 16, 32, 32), 2)]


@pytest.mark.parametrize(("shape", "dims"), SHAPES)
def test_training_and_eval_match_torch_on_cuda(shape, dims):
    torch.manual_seed(0)
    ours = getattr(bn, f"BatchNorm{dims}d")(shape[1]).cuda()
    theirs = getattr(nn, f"BatchNorm{dims}d")(shape[1]).cuda()
    x = torch.randn(shape, device="cuda", requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    grad = torch.randn(shape, device="cuda")
    ours(x).backward(grad)
    theirs(x_ref).backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, atol=1e-3, rtol=1e-4)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x.detach()), theirs(x.detach()), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["GhostBatchNorm1d", "BatchRenorm1d", "SyncBatchNorm"])
def test_the_variants_run_on_cuda_like_on_the_cpu(kind):
    options = {"virtual_batch_size": 8} if kind.startswith("Ghost") else {}
    torch.manual_seed(0)
    cpu = getattr(bn, kind)(20, **options)
    gpu = getattr(bn, kind)(20, **options).cuda()
    x = torch.randn(32, 20)
    torch.testing.assert_close(gpu(x.cuda()).cpu(), cpu(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gpu.running_mean.cpu(), cpu.running_mean)
