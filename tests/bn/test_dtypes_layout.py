"""Empty batches, memory formats and low-precision inputs behave as in torch."""

import pytest
import torch

import bn
from tests.bn.conftest import assert_same_state, make_pair, run_step


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [(bn.BatchNorm1d, torch.nn.BatchNorm1d, (0, 5)), (bn.BatchNorm2d, torch.nn.BatchNorm2d, (0, 5, 3, 3))],
)
def test_empty_batch(ours, theirs, shape):
    a, b = make_pair(ours, theirs)
    x, grad = torch.randn(shape), torch.randn(shape)
    y_a, gx_a = run_step(a, x, grad)
    y_b, gx_b = run_step(b, x, grad)
    assert y_a.shape == y_b.shape == gx_a.shape == gx_b.shape == shape
    assert_same_state(a, b, atol=0)
    assert int(a.num_batches_tracked) == 1
    assert torch.equal(a.weight.grad, torch.zeros(5))
    a.eval()
    assert a(x).shape == shape


@pytest.mark.parametrize(
    ("ours", "theirs", "shape", "fmt"),
    [
        (bn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 5, 3, 6), torch.channels_last),
        (bn.BatchNorm3d, torch.nn.BatchNorm3d, (4, 5, 2, 3, 3), torch.channels_last_3d),
    ],
)
@pytest.mark.parametrize("training", [True, False])
def test_channels_last_in_gives_channels_last_out(ours, theirs, shape, fmt, training):
    a, b = make_pair(ours, theirs)
    a.train(training), b.train(training)
    x = (torch.randn(shape) * 2 + 1).contiguous(memory_format=fmt)
    grad = torch.randn(shape).contiguous(memory_format=fmt)
    y_a, gx_a = run_step(a, x, grad)
    y_b, gx_b = run_step(b, x, grad)
    assert y_a.is_contiguous(memory_format=fmt)
    assert gx_a.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(y_a, y_b)
    torch.testing.assert_close(gx_a, gx_b)
    assert_same_state(a, b, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("training", [True, False])
def test_low_precision_input_with_float32_state(dtype, training):
    a, b = make_pair(bn.BatchNorm2d, torch.nn.BatchNorm2d)
    a.train(training), b.train(training)
    x = (torch.randn(8, 5, 4, 4) * 3 + 2).to(dtype)
    grad = torch.randn(8, 5, 4, 4).to(dtype)
    y_a, gx_a = run_step(a, x, grad)
    y_b, gx_b = run_step(b, x, grad)
    assert y_a.dtype == gx_a.dtype == dtype
    assert a.weight.dtype == a.running_mean.dtype == torch.float32
    assert a.weight.grad.dtype == torch.float32
    tol = {torch.float16: 2e-3, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(y_a, y_b, atol=tol, rtol=tol)
    torch.testing.assert_close(gx_a, gx_b, atol=tol, rtol=tol)
    assert_same_state(a, b, atol=1e-2)
