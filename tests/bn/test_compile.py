"""bn compiles into one graph with torch.compile and computes what eager computes."""

import pytest
import torch

import bn


@pytest.fixture(autouse=True)
def bn_path():
    """Once: torch.compile always runs bn's tensor-op reference and eager here the kernels: this compares the two."""
    return "kernel"


@pytest.mark.slow
def test_compiled_training_step_matches_eager():
    eager, compiled_layer = bn.BatchNorm2d(4), bn.BatchNorm2d(4)
    compiled = torch.compile(compiled_layer, fullgraph=True, dynamic=False)
    for _ in range(2):
        x, grad = torch.randn(6, 4, 5, 5) * 3 + 1, torch.randn(6, 4, 5, 5)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = eager(xa), compiled(xb)
        ya.backward(grad), yb.backward(grad)
        torch.testing.assert_close(yb, ya)
        torch.testing.assert_close(xb.grad, xa.grad)
    torch.testing.assert_close(compiled_layer.weight.grad, eager.weight.grad)
    torch.testing.assert_close(compiled_layer.running_var, eager.running_var)
    assert int(compiled_layer.num_batches_tracked) == 2
    compiled_layer.eval(), eager.eval()
    x = torch.randn(3, 4, 5, 5)
    torch.testing.assert_close(compiled(x), eager(x))
