"""Checkpoints move between bn and torch in both directions, old ones included."""

import pytest
import torch

import bn
from tests.bn.conftest import make_pair


def trained(layer, shape=(8, 5, 3, 3)):
    """A layer whose running statistics are no longer the defaults."""
    for _ in range(3):
        layer(torch.randn(shape) * 2 + 1)
    return layer


@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"track_running_stats": False}])
def test_same_keys_as_torch(kwargs):
    a, b = bn.BatchNorm2d(5, **kwargs), torch.nn.BatchNorm2d(5, **kwargs)
    assert list(a.state_dict()) == list(b.state_dict())
    assert a.state_dict()._metadata[""]["version"] == b.state_dict()._metadata[""]["version"] == 2


def test_torch_checkpoint_loads_into_bn():
    source = trained(torch.nn.BatchNorm2d(5))
    target = bn.BatchNorm2d(5)
    target.load_state_dict(source.state_dict())
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    x = torch.randn(4, 5, 3, 3)
    torch.testing.assert_close(target.eval()(x), source.eval()(x))


def test_bn_checkpoint_loads_into_torch():
    source = trained(bn.BatchNorm2d(5))
    target = torch.nn.BatchNorm2d(5)
    target.load_state_dict(source.state_dict())
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


@pytest.mark.parametrize("cls", [bn.BatchNorm2d, torch.nn.BatchNorm2d])
def test_old_checkpoint_without_num_batches_tracked_upgrades(cls):
    state = trained(bn.BatchNorm2d(5)).state_dict()
    del state["num_batches_tracked"]
    state._metadata[""]["version"] = 1
    layer, counted = cls(5), cls(5)
    counted.num_batches_tracked.fill_(7)
    for target, expected in ((layer, 0), (counted, 7)):
        result = target.load_state_dict(state, strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        assert int(target.num_batches_tracked) == expected
    assert layer.num_batches_tracked.dtype == torch.int64
    assert torch.equal(layer.running_mean, state["running_mean"])


def test_current_checkpoint_missing_num_batches_tracked_is_an_error():
    state = bn.BatchNorm2d(5).state_dict()
    del state["num_batches_tracked"]
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        bn.BatchNorm2d(5).load_state_dict(state)


def test_whole_model_round_trip():
    ours = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3), bn.BatchNorm2d(5), torch.nn.ReLU())
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3), torch.nn.BatchNorm2d(5), torch.nn.ReLU())
    ours(torch.randn(4, 3, 6, 6))
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(ours.eval()(x), theirs.eval()(x))


def test_pair_helper_builds_identical_layers():
    a, b = make_pair(bn.BatchNorm1d, torch.nn.BatchNorm1d)
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
