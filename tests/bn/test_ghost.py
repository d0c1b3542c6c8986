"""GhostBatchNorm1d/2d: batch norm per virtual batch in training, plain batch norm in eval."""

import pytest
import torch

import bn
from bn import GhostBatchNorm1d, GhostBatchNorm2d
from tests.bn.conftest import assert_layer_gradchecks, assert_same_state, run_step

TOL = 1e-10
# (ghost class, bn class, torch class, input shape)
CASES = [
    (GhostBatchNorm1d, bn.BatchNorm1d, torch.nn.BatchNorm1d, (10, 3)),
    (GhostBatchNorm1d, bn.BatchNorm1d, torch.nn.BatchNorm1d, (10, 3, 4)),
    (GhostBatchNorm2d, bn.BatchNorm2d, torch.nn.BatchNorm2d, (10, 3, 4, 2)),
]
CASE_IDS = ["1d-2D", "1d-3D", "2d"]


def make_ghost(cls, virtual_batch_size, **kwargs):
    """A float64 ghost layer with random affine parameters, so that gamma and beta matter."""
    layer = cls(3, virtual_batch_size, dtype=torch.float64, **kwargs)
    if layer.affine:
        with torch.no_grad():
            layer.weight.copy_(torch.rand(3, dtype=torch.float64) + 0.5)
            layer.bias.copy_(torch.randn(3, dtype=torch.float64))
    return layer


def twin(layer, cls):
    """A layer of `cls` in the same state and mode: the reference the ghost layer is compared with."""
    other = cls(3, layer.eps, layer.momentum, layer.affine, layer.track_running_stats, dtype=torch.float64)
    other.load_state_dict(layer.state_dict())
    return other.train(layer.training)


def batch(shape):
    """float64 input whose samples have different offsets, so each virtual batch has its own statistics."""
    offsets = torch.arange(shape[0], dtype=torch.float64).view(-1, *[1] * (len(shape) - 1))
    return torch.randn(shape, dtype=torch.float64) * 2 + offsets


def reference_step(layer, x, grad, sizes, state):
    """torch's functional batch norm on each chunk of `sizes`; `state` holds (mean, var, weight, bias), updated."""
    x = x.clone().requires_grad_(True)
    mean, var, weight, bias = state
    chunks = x.split(sizes)
    y = torch.cat([torch.nn.functional.batch_norm(c, mean, var, weight, bias, True, layer.momentum) for c in chunks])
    y.backward(grad)
    return y.detach(), x.grad


def reference_state(layer):
    """Copies of the layer's running buffers (None if untracked) and leaf copies of its affine parameters."""
    buffers = [None if b is None else b.clone() for b in (layer.running_mean, layer.running_var)]
    return [*buffers, *(p.detach().clone().requires_grad_(True) for p in (layer.weight, layer.bias))]


@pytest.mark.parametrize("extra", [0, 5], ids=["equal", "larger"])
@pytest.mark.parametrize(("ghost", "ours", "theirs", "shape"), CASES, ids=CASE_IDS)
def test_one_virtual_batch_is_plain_batch_norm(ghost, ours, theirs, shape, extra):
    g = make_ghost(ghost, shape[0] + extra)
    a, b = twin(g, ours), twin(g, theirs)
    for _ in range(3):
        x, grad = batch(shape), torch.randn(shape, dtype=torch.float64)
        y_g, gx_g = run_step(g, x, grad)
        y_a, gx_a = run_step(a, x, grad)
        y_b, gx_b = run_step(b, x, grad)
        assert torch.equal(y_g, y_a) and torch.equal(gx_g, gx_a)
        torch.testing.assert_close(y_g, y_b, atol=TOL, rtol=TOL)
        torch.testing.assert_close(gx_g, gx_b, atol=TOL, rtol=TOL)
    assert_same_state(g, a, atol=0)
    assert_same_state(g, b, atol=TOL)


@pytest.mark.parametrize(
    ("ghost", "shape", "sizes"),
    [
        (GhostBatchNorm1d, (10, 3), [4, 4, 2]),
        (GhostBatchNorm1d, (9, 3), [4, 5]),
        (GhostBatchNorm1d, (9, 3, 1), [4, 5]),
        (GhostBatchNorm1d, (9, 3, 2), [4, 4, 1]),
        (GhostBatchNorm2d, (9, 3, 2, 2), [4, 4, 1]),
        (GhostBatchNorm2d, (9, 3, 1, 1), [4, 5]),
    ],
    ids=["1d-uneven", "1d-lone-sample-merged", "1d-3D-lone-value-merged", "1d-3D-lone-sample-kept", "2d", "2d-1x1"],
)
def test_statistics_are_per_virtual_batch(ghost, shape, sizes):
    g = make_ghost(ghost, 4, momentum=0.3)
    state = reference_state(g)
    for _ in range(2):
        x, grad = batch(shape), torch.randn(shape, dtype=torch.float64)
        y_g, gx_g = run_step(g, x, grad)
        y_r, gx_r = reference_step(g, x, grad, sizes, state)
        torch.testing.assert_close(y_g, y_r, atol=TOL, rtol=TOL)
        torch.testing.assert_close(gx_g, gx_r, atol=TOL, rtol=TOL)
    actual = [g.running_mean, g.running_var, g.weight.grad, g.bias.grad]
    expected = [state[0], state[1], state[2].grad, state[3].grad]
    torch.testing.assert_close(actual, expected, atol=TOL, rtol=TOL)
    assert int(g.num_batches_tracked) == 2


def test_without_running_stats_training_is_per_virtual_batch():
    g = make_ghost(GhostBatchNorm1d, 4, track_running_stats=False)
    x, grad = batch((10, 3)), torch.randn(10, 3, dtype=torch.float64)
    state = reference_state(g)
    y_g, gx_g = run_step(g, x, grad)
    y_r, gx_r = reference_step(g, x, grad, [4, 4, 2], state)
    torch.testing.assert_close([y_g, gx_g], [y_r, gx_r], atol=TOL, rtol=TOL)


@pytest.mark.parametrize("track", [True, False], ids=["running", "batch"])
@pytest.mark.parametrize(("ghost", "ours", "theirs", "shape"), CASES, ids=CASE_IDS)
def test_eval_is_plain_batch_norm(ghost, ours, theirs, shape, track):
    g = make_ghost(ghost, 4, track_running_stats=track)
    for _ in range(3):
        g(batch(shape))
    g.eval()
    a, b = twin(g, ours), twin(g, theirs)
    x, grad = batch(shape), torch.randn(shape, dtype=torch.float64)
    y_g, gx_g = run_step(g, x, grad)
    y_a, gx_a = run_step(a, x, grad)
    y_b, _ = run_step(b, x, grad)
    assert torch.equal(y_g, y_a) and torch.equal(gx_g, gx_a)
    torch.testing.assert_close(y_g, y_b, atol=TOL, rtol=TOL)


def test_gradcheck():
    g = make_ghost(GhostBatchNorm1d, 4)
    x = batch((10, 3)).requires_grad_(True)
    assert_layer_gradchecks(g, x)


@pytest.mark.parametrize(("ghost", "ours", "theirs", "shape"), CASES, ids=CASE_IDS)
def test_state_dict_is_torchs(ghost, ours, theirs, shape):
    g, t = ghost(3, 4), theirs(3)
    assert list(g.state_dict()) == list(t.state_dict())
    t.running_mean.fill_(2.0)
    g.load_state_dict(t.state_dict())
    assert torch.equal(g.running_mean, t.running_mean)


@pytest.mark.parametrize("virtual_batch_size", [0, 1, -4, 2.5, True, "8", None])
def test_bad_virtual_batch_size(virtual_batch_size):
    with pytest.raises(
        ValueError, match=r"virtual_batch_size must be an int >= 2 .* pass e\.g\. virtual_batch_size=32"
    ):
        GhostBatchNorm1d(3, virtual_batch_size)


def test_momentum_none_is_rejected():
    with pytest.raises(ValueError, match=r"needs a float momentum .*momentum=None"):
        GhostBatchNorm2d(3, 4, momentum=None)


def test_lone_training_sample_fails_like_batch_norm():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        GhostBatchNorm1d(3, 4)(torch.randn(1, 3))


def test_repr_shows_virtual_batch_size():
    assert repr(GhostBatchNorm2d(3, 16)).endswith("track_running_stats=True, virtual_batch_size=16)")
