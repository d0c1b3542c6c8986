"""Gradients are exact (gradcheck, double backward), statistics survive large offsets, memory stays lean."""

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import bn
from bn import functional as F


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 2, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_and_gradgradcheck_training(shape, affine):
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(3, dtype=torch.float64, requires_grad=True) + 0.5 if affine else None
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True) if affine else None
    inputs = (x, weight, bias) if affine else (x,)

    def fn(x, weight=None, bias=None):
        return F.batch_norm(x, None, None, weight, bias, training=True, eps=1e-3)

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_gradcheck_eval():
    x = torch.randn(5, 3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)
    mean, var = torch.randn(3, dtype=torch.float64), torch.rand(3, dtype=torch.float64) + 0.1

    def fn(x, weight, bias):
        return F.batch_norm(x, mean, var, weight, bias, training=False)

    assert gradcheck(fn, (x, weight, bias))
    assert gradgradcheck(fn, (x, weight, bias))


def test_double_backward_matches_torch():
    x = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(3, dtype=torch.float64, requires_grad=True)
    results = []
    for fn in (F.batch_norm, torch.nn.functional.batch_norm):
        y = fn(x, None, None, weight, None, training=True)
        (gx,) = torch.autograd.grad((y**3).sum(), x, create_graph=True)
        results.append(torch.autograd.grad(gx.pow(2).sum(), (x, weight)))
    for ours, theirs in zip(*results, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("offset", [1e4, -3e4])
def test_statistics_accurate_with_large_offset(offset):
    torch.manual_seed(1)
    x64 = torch.randn(256, 8, dtype=torch.float64) + offset
    x = x64.float()
    layer = bn.BatchNorm1d(8, momentum=1.0, affine=False)
    y = layer(x)
    exact = x.double()  # the float32 data itself, statistics taken exactly
    mean, var = exact.mean(0), exact.var(0, unbiased=False)
    torch.testing.assert_close(layer.running_mean.double(), mean, atol=2e-3, rtol=0)
    torch.testing.assert_close(layer.running_var.double(), exact.var(0, unbiased=True), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(y.double(), (exact - mean) / torch.sqrt(var + 1e-5), atol=2e-3, rtol=0)
    naive_var = (x * x).mean(0) - x.mean(0) ** 2
    assert (naive_var.double() - var).abs().max() > 1.0, "the naive formula would have cancelled"


def saved_bytes(fn):
    """Bytes of the distinct tensors autograd keeps for backward while `fn` runs."""
    seen = {}

    def pack(tensor):
        seen[(tensor.data_ptr(), tensor.dtype, tuple(tensor.shape))] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


@pytest.mark.parametrize("shape", [(64, 32), (16, 8, 6, 6)])
def test_saves_no_more_for_backward_than_native(shape):
    x = torch.randn(shape, requires_grad=True)
    ours, theirs = (
        cls(shape[1])
        for cls in (
            bn.BatchNorm2d if len(shape) == 4 else bn.BatchNorm1d,
            torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d,
        )
    )
    assert saved_bytes(lambda: ours(x)) <= saved_bytes(lambda: theirs(x))
