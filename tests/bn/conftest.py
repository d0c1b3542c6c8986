"""Shared fixtures: each bn layer paired with torch's, both seeded the same."""

import pytest
import torch
from torch.func import functional_call

import bn
from bn import kernels

# (bn class, torch class, input shape)
PAIRS = [
    (bn.BatchNorm1d, torch.nn.BatchNorm1d, (16, 5)),
    (bn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 5, 7)),
    (bn.BatchNorm2d, torch.nn.BatchNorm2d, (6, 5, 4, 3)),
    (bn.BatchNorm3d, torch.nn.BatchNorm3d, (4, 5, 3, 2, 3)),
]
PAIR_IDS = ["1d-2D", "1d-3D", "2d", "3d"]


@pytest.fixture(autouse=True, params=["kernel", "reference"])
def bn_path(request):
    """Every bn test runs twice: on the C++ kernels (which must have been built) and on the tensor-op reference."""
    if request.param == "reference":
        with kernels.reference_only():
            yield request.param
        return
    assert kernels.ops() is not None, "bn's C++ kernels did not build: see the warning above"
    yield request.param


@pytest.fixture(autouse=True)
def _seed():
    """Every test sees the same random numbers, whatever ran before it."""
    torch.manual_seed(0)


def make_pair(ours, theirs, num_features=5, dtype=torch.float32, **kwargs):
    """A bn layer and a torch layer with identical random affine parameters."""
    a = ours(num_features, dtype=dtype, **kwargs)
    b = theirs(num_features, dtype=dtype, **kwargs)
    if a.weight is not None:
        with torch.no_grad():
            a.weight.copy_(torch.rand(num_features, dtype=dtype) + 0.5)
            a.bias.copy_(torch.randn(num_features, dtype=dtype))
    b.load_state_dict(a.state_dict())
    return a, b


def run_step(layer, x, grad):
    """One forward and backward; returns (output, input grad)."""
    x = x.clone().requires_grad_(True)
    y = layer(x)
    y.backward(grad)
    return y.detach(), x.grad


def assert_same_state(a, b, atol):
    """Parameters, their grads and every buffer agree."""
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=atol, rtol=atol, msg=name)
        if p.grad is not None or q.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, atol=atol, rtol=atol, msg=f"{name}.grad")
    for (name, u), (_, v) in zip(a.named_buffers(), b.named_buffers(), strict=True):
        assert u.dtype == v.dtype, name
        torch.testing.assert_close(u, v, atol=atol, rtol=atol, msg=name)


def assert_layer_gradchecks(layer, x):
    """gradcheck and gradgradcheck of a float64 layer with respect to its input, weight and bias."""
    params = [layer.weight.detach().clone().requires_grad_(True), layer.bias.detach().clone().requires_grad_(True)]

    def forward(x, weight, bias):
        return functional_call(layer, {"weight": weight, "bias": bias}, (x,))

    assert torch.autograd.gradcheck(forward, (x, *params))
    assert torch.autograd.gradgradcheck(forward, (x, *params))
