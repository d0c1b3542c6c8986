"""bn.BatchNorm*d against torch.nn.BatchNorm*d on the same inputs: every semantic, one test each."""

import pytest
import torch

from tests.bn.conftest import PAIR_IDS, PAIRS, assert_same_state, make_pair, run_step

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_defaults_match_torch(ours, theirs, shape):
    a, b = ours(5), theirs(5)
    for attr in ("num_features", "eps", "momentum", "affine", "track_running_stats", "training"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert_same_state(a, b, atol=0)
    assert a.num_batches_tracked.dtype == torch.int64
    assert repr(a).split("(", 1)[1] == repr(b).split("(", 1)[1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_training_steps_match_torch(ours, theirs, shape, dtype):
    a, b = make_pair(ours, theirs, dtype=dtype)
    for _ in range(3):
        x = torch.randn(shape, dtype=dtype) * 3 + 1
        grad = torch.randn(shape, dtype=dtype)
        y_a, gx_a = run_step(a, x, grad)
        y_b, gx_b = run_step(b, x, grad)
        torch.testing.assert_close(y_a, y_b, atol=TOL[dtype], rtol=TOL[dtype])
        torch.testing.assert_close(gx_a, gx_b, atol=TOL[dtype], rtol=TOL[dtype])
    assert_same_state(a, b, atol=TOL[dtype])
    assert int(a.num_batches_tracked) == 3


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_momentum_convention(ours, theirs, shape):
    a, _ = make_pair(ours, theirs, momentum=0.3)
    x = torch.randn(shape) * 2 + 5
    a(x)
    dims = [0, *range(2, x.dim())]
    expected_mean = 0.7 * torch.zeros(5) + 0.3 * x.mean(dims)
    expected_var = 0.7 * torch.ones(5) + 0.3 * x.var(dims, unbiased=True)
    torch.testing.assert_close(a.running_mean, expected_mean)
    torch.testing.assert_close(a.running_var, expected_var)


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_momentum_none_is_cumulative_average(ours, theirs, shape):
    a, b = make_pair(ours, theirs, momentum=None)
    batches = [torch.randn(shape) + i for i in range(4)]
    for x in batches:
        a(x), b(x)
    assert_same_state(a, b, atol=1e-5)
    dims = [0, *range(2, len(shape))]
    mean_of_means = torch.stack([x.mean(dims) for x in batches]).mean(0)
    torch.testing.assert_close(a.running_mean, mean_of_means)


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_eval_uses_running_stats(ours, theirs, shape):
    a, b = make_pair(ours, theirs)
    for _ in range(2):
        x = torch.randn(shape) * 2 - 1
        a(x), b(x)
    a.eval(), b.eval()
    x, grad = torch.randn(shape), torch.randn(shape)
    y_a, gx_a = run_step(a, x, grad)
    y_b, gx_b = run_step(b, x, grad)
    torch.testing.assert_close(y_a, y_b)
    torch.testing.assert_close(gx_a, gx_b)
    assert_same_state(a, b, atol=1e-5)
    assert int(a.num_batches_tracked) == 2


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_train_forward_under_no_grad_updates_stats(ours, theirs, shape):
    a, b = make_pair(ours, theirs)
    x = torch.randn(shape) + 3
    with torch.no_grad():
        y_a, y_b = a(x), b(x)
    torch.testing.assert_close(y_a, y_b)
    assert not torch.equal(a.running_mean, torch.zeros(5))
    assert_same_state(a, b, atol=1e-6)


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_without_running_stats_batch_stats_in_eval_too(ours, theirs, shape):
    a, b = make_pair(ours, theirs, track_running_stats=False)
    assert a.running_mean is None and a.running_var is None and a.num_batches_tracked is None
    a.eval(), b.eval()
    x, grad = torch.randn(shape) * 4, torch.randn(shape)
    y_a, gx_a = run_step(a, x, grad)
    y_b, gx_b = run_step(b, x, grad)
    torch.testing.assert_close(y_a, y_b)
    torch.testing.assert_close(gx_a, gx_b)
    assert_same_state(a, b, atol=1e-5)


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_affine_false(ours, theirs, shape):
    a, b = make_pair(ours, theirs, affine=False)
    assert a.weight is None and a.bias is None
    assert [n for n, _ in a.named_parameters()] == []
    x, grad = torch.randn(shape), torch.randn(shape)
    for layer_mode in ("train", "eval"):
        getattr(a, layer_mode)(), getattr(b, layer_mode)()
        y_a, gx_a = run_step(a, x, grad)
        y_b, gx_b = run_step(b, x, grad)
        torch.testing.assert_close(y_a, y_b)
        torch.testing.assert_close(gx_a, gx_b)


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_eps_inside_the_square_root(ours, theirs, shape):
    a, b = make_pair(ours, theirs, eps=0.5, affine=False)
    x = torch.randn(shape) * 0.1
    dims = [0, *range(2, x.dim())]
    view = [1, 5] + [1] * (x.dim() - 2)
    mean, var = x.mean(dims).view(view), x.var(dims, unbiased=False).view(view)
    torch.testing.assert_close(a(x), (x - mean) / torch.sqrt(var + 0.5))
    torch.testing.assert_close(a(x), b(x))


def test_bias_false_keyword_like_torch():
    import bn

    a, b = bn.BatchNorm2d(3, bias=False), torch.nn.BatchNorm2d(3, bias=False)
    assert a.bias is None and a.weight is not None
    assert list(a.state_dict()) == list(b.state_dict())
    x = torch.randn(4, 3, 2, 2)
    torch.testing.assert_close(a(x), b(x))
