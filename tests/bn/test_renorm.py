"""BatchRenorm1d/2d: the paper's formula with clipped r and d, plain batch norm when they are switched off."""

import pytest
import torch

import bn
from bn import BatchRenorm1d, BatchRenorm2d
from bn._renorm import warmup_limits
from tests.bn.conftest import assert_layer_gradchecks, assert_same_state, run_step

TOL = 1e-10
# (renorm class, bn class, torch class, input shape)
CASES = [
    (BatchRenorm1d, bn.BatchNorm1d, torch.nn.BatchNorm1d, (10, 3)),
    (BatchRenorm1d, bn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3, 4)),
    (BatchRenorm2d, bn.BatchNorm2d, torch.nn.BatchNorm2d, (5, 3, 4, 2)),
]
CASE_IDS = ["1d-2D", "1d-3D", "2d"]


def make_renorm(cls, **kwargs):
    """A float64 renorm layer with random affine parameters and running statistics, so that all of them matter."""
    layer = cls(3, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        layer.running_mean.copy_(torch.randn(3, dtype=torch.float64))
        layer.running_var.copy_(torch.rand(3, dtype=torch.float64) + 0.5)
        if layer.affine:
            layer.weight.copy_(torch.rand(3, dtype=torch.float64) + 0.5)
            layer.bias.copy_(torch.randn(3, dtype=torch.float64))
    return layer


def twin(layer, cls):
    """A batch-norm layer of `cls` in the same state and mode: the reference in the limiting cases."""
    other = cls(3, layer.eps, layer.momentum, layer.affine, dtype=torch.float64)
    other.load_state_dict(layer.state_dict())
    return other.train(layer.training)


def batch(shape, scale=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0)):
    """float64 input with per-channel scale and offset, to push r and d past their limits or not."""
    view = [1, 3] + [1] * (len(shape) - 2)
    scale, offset = (torch.tensor(v, dtype=torch.float64).view(view) for v in (scale, offset))
    return torch.randn(shape, dtype=torch.float64) * scale + offset


def reference(x, mean, var, weight, bias, rmax, dmax, eps=1e-5):
    """The paper's formula written out with autograd, r and d detached; returns (y, r and d before clipping)."""
    dims, view = [0, *range(2, x.dim())], [1, -1] + [1] * (x.dim() - 2)
    mean_b, sigma_b = x.mean(dims), torch.sqrt(x.var(dims, correction=0) + eps)
    sigma = torch.sqrt(var + eps)
    raw_r, raw_d = (sigma_b / sigma).detach(), ((mean_b - mean) / sigma).detach()
    r, d = raw_r.clamp(1 / rmax, rmax), raw_d.clamp(-dmax, dmax)
    y = (x - mean_b.view(view)) / sigma_b.view(view) * r.view(view) + d.view(view)
    if weight is not None:
        y = y * weight.view(view) + bias.view(view)
    return y, raw_r, raw_d


def reference_step(layer, x, grad, rmax, dmax):
    """reference() with the layer's current state; returns (y, x grad, weight grad, bias grad, raw r, raw d)."""
    x = x.clone().requires_grad_(True)
    params = [None if p is None else p.detach().clone().requires_grad_(True) for p in (layer.weight, layer.bias)]
    y, raw_r, raw_d = reference(x, layer.running_mean, layer.running_var, *params, rmax, dmax)
    y.backward(grad)
    return y.detach(), x.grad, *(None if p is None else p.grad for p in params), raw_r, raw_d


def expected_running_stats(layer, x):
    """torch's update: batch mean and unbiased batch variance averaged in with the layer's momentum."""
    dims, m = [0, *range(2, x.dim())], layer.momentum
    mean = (1 - m) * layer.running_mean + m * x.mean(dims)
    return mean, (1 - m) * layer.running_var + m * x.var(dims, correction=1)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(("renorm", "ours", "theirs", "shape"), CASES, ids=CASE_IDS)
def test_no_correction_is_plain_batch_norm(renorm, ours, theirs, shape, affine, momentum):
    layer = make_renorm(renorm, rmax=1.0, dmax=0.0, affine=affine, momentum=momentum)
    a, b = twin(layer, ours), twin(layer, theirs)
    for _ in range(3):
        x, grad = batch(shape, scale=(0.2, 1.0, 5.0), offset=(-4.0, 0.0, 4.0)), torch.randn(shape, dtype=torch.float64)
        y, gx = run_step(layer, x, grad)
        for other in (a, b):
            y_o, gx_o = run_step(other, x, grad)
            torch.testing.assert_close([y, gx], [y_o, gx_o], atol=TOL, rtol=TOL)
    assert_same_state(layer, a, atol=TOL)
    assert_same_state(layer, b, atol=TOL)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(("renorm", "ours", "theirs", "shape"), CASES, ids=CASE_IDS)
def test_clipped_corrections_match_the_formula(renorm, ours, theirs, shape, affine):
    layer = make_renorm(renorm, rmax=2.0, dmax=1.0, affine=affine, momentum=0.2)
    # Channel 0 clips r and d from below, channel 1 stays inside the limits, channel 2 clips them from above.
    x = batch(shape, scale=(0.1, 1.0, 8.0), offset=(-5.0, 0.0, 5.0))
    grad = torch.randn(shape, dtype=torch.float64)
    for step in range(3):
        *expected, raw_r, raw_d = reference_step(layer, x, grad, rmax=2.0, dmax=1.0)
        running = expected_running_stats(layer, x)
        y, gx = run_step(layer, x, grad)
        grads = [None if p is None else p.grad for p in (layer.weight, layer.bias)]
        torch.testing.assert_close([y, gx, *grads], expected, atol=TOL, rtol=TOL)
        torch.testing.assert_close([layer.running_mean, layer.running_var], list(running), atol=TOL, rtol=TOL)
        layer.zero_grad()
        if step == 0:
            assert raw_r[0] < 0.5 and 0.5 < raw_r[1] < 2 and raw_r[2] > 2
            assert raw_d[0] < -1 and -1 < raw_d[1] < 1 and raw_d[2] > 1


def test_warmup_limits_ramp_linearly():
    limits = [warmup_limits(3.0, 5.0, 4, torch.tensor(k), torch.float64) for k in range(7)]
    expected = [(1.0, 0.0), (1.5, 1.25), (2.0, 2.5), (2.5, 3.75), (3.0, 5.0), (3.0, 5.0), (3.0, 5.0)]
    assert [(float(r), float(d)) for r, d in limits] == expected
    assert warmup_limits(3.0, 5.0, 0, torch.tensor(0), torch.float64) == (3.0, 5.0)


def test_warmup_schedule_drives_the_clipping():
    # momentum 0 keeps the running statistics at their start, so r and d stay far out and the limits bind.
    layer = make_renorm(BatchRenorm1d, rmax=3.0, dmax=5.0, warmup=4, momentum=0.0)
    x = batch((10, 3), scale=(10.0, 0.01, 10.0), offset=(20.0, -20.0, 20.0))
    grad = torch.randn(10, 3, dtype=torch.float64)
    for steps_done in range(6):
        rmax, dmax = (float(v) for v in warmup_limits(3.0, 5.0, 4, torch.tensor(steps_done), torch.float64))
        expected = reference_step(layer, x, grad, rmax, dmax)[:2]
        torch.testing.assert_close(list(run_step(layer, x, grad)), list(expected), atol=TOL, rtol=TOL)
    assert int(layer.num_batches_tracked) == 6


@pytest.mark.parametrize(("renorm", "ours", "theirs", "shape"), CASES, ids=CASE_IDS)
def test_eval_is_plain_batch_norm(renorm, ours, theirs, shape):
    layer = make_renorm(renorm)
    for _ in range(3):
        layer(batch(shape, scale=(0.5, 1.0, 3.0), offset=(1.0, 0.0, -2.0)))
    layer.eval()
    a, b = twin(layer, ours), twin(layer, theirs)
    x, grad = batch(shape), torch.randn(shape, dtype=torch.float64)
    y, gx = run_step(layer, x, grad)
    y_a, gx_a = run_step(a, x, grad)
    y_b, _ = run_step(b, x, grad)
    assert torch.equal(y, y_a) and torch.equal(gx, gx_a)
    torch.testing.assert_close(y, y_b, atol=TOL, rtol=TOL)
    assert int(layer.num_batches_tracked) == 3


@pytest.mark.parametrize(
    ("rmax", "dmax", "scale", "offset"),
    [(1.0, 0.0, 1.0, 0.0), (2.0, 1.0, 5.0, 5.0)],
    ids=["batch-norm", "clipped"],
)
def test_gradcheck(rmax, dmax, scale, offset):
    # r and d get no gradient, so finite differences agree only where they are constant: switched off, or
    # clipped. momentum 0 keeps the running statistics, and with them r and d, the same across evaluations.
    layer = make_renorm(BatchRenorm2d, rmax=rmax, dmax=dmax, momentum=0.0)
    with torch.no_grad():
        layer.running_mean.zero_(), layer.running_var.fill_(1.0)
    x = batch((4, 3, 2, 2), scale=(scale,) * 3, offset=(offset,) * 3).requires_grad_(True)
    assert_layer_gradchecks(layer, x)


@pytest.mark.parametrize(("renorm", "ours", "theirs", "shape"), CASES, ids=CASE_IDS)
def test_state_dict_is_torchs(renorm, ours, theirs, shape):
    layer, t = renorm(3), theirs(3)
    assert list(layer.state_dict()) == list(t.state_dict())
    t.running_var.fill_(4.0)
    layer.load_state_dict(t.state_dict())
    assert torch.equal(layer.running_var, t.running_var)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rmax": 0.5}, r"rmax must be >= 1 \(r is clipped to \[1/rmax, rmax\]"),
        ({"rmax": float("nan")}, "rmax must be >= 1"),
        ({"dmax": -1.0}, r"dmax must be >= 0 \(d is clipped to \[-dmax, dmax\]"),
        ({"warmup": -1}, r"warmup must be an int >= 0 \(training steps"),
        ({"warmup": 2.5}, "warmup must be an int >= 0"),
        ({"warmup": True}, "warmup must be an int >= 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchRenorm1d(3, **kwargs)


def test_running_stats_cannot_be_turned_off():
    with pytest.raises(TypeError, match="track_running_stats"):
        BatchRenorm2d(3, track_running_stats=False)


def test_lone_training_value_fails_like_batch_norm():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        BatchRenorm1d(3)(torch.randn(1, 3))


def test_repr_shows_limits():
    assert repr(BatchRenorm1d(3, rmax=2.0, warmup=10)).endswith("rmax=2.0, dmax=5.0, warmup=10)")
