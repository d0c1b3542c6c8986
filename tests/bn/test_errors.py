"""Bad input raises what torch raises (type and message), plus what torch forgets to check."""

import pytest
import torch

import bn
from bn import functional as F


@pytest.fixture(autouse=True)
def bn_path():
    """Once: every check runs in Python before a path is chosen, so both paths raise alike."""
    return "kernel"


def raised(fn):
    """The (type, message) an action raises, for comparing bn with torch."""
    with pytest.raises(Exception) as info:
        fn()
    return info.type, str(info.value)


CLASSES = {
    "1d": (bn.BatchNorm1d, torch.nn.BatchNorm1d),
    "2d": (bn.BatchNorm2d, torch.nn.BatchNorm2d),
    "3d": (bn.BatchNorm3d, torch.nn.BatchNorm3d),
}
# case: (layer kind, constructor kwargs, eval mode, input shape)
CASES = {
    "one value per channel (2D)": ("1d", {}, False, (1, 3)),
    "one value per channel (3D)": ("1d", {}, False, (1, 3, 1)),
    "one value per channel (4D)": ("2d", {}, False, (1, 3, 1, 1)),
    "rank 4 into 1d": ("1d", {}, False, (2, 3, 4, 5)),
    "rank 1 into 1d": ("1d", {}, False, (3,)),
    "rank 3 into 2d": ("2d", {}, False, (2, 3, 4)),
    "rank 4 into 3d": ("3d", {}, False, (2, 3, 4, 4)),
    "wrong channel count": ("2d", {}, False, (4, 5, 2, 2)),
    "wrong channel count in eval": ("2d", {}, True, (4, 5, 2, 2)),
    "wrong channel count, no running stats": ("1d", {"track_running_stats": False}, False, (4, 5)),
    "zero eps in training": ("1d", {"eps": 0.0}, False, (4, 3)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_exception_as_torch(case):
    kind, kwargs, eval_mode, shape = CASES[case]
    x = torch.randn(shape)

    def apply(cls):
        layer = cls(3, **kwargs)
        return layer.train(not eval_mode)(x)

    ours, theirs = CLASSES[kind]
    assert raised(lambda: apply(ours)) == raised(lambda: apply(theirs))


def test_eval_without_running_stats_like_torch():
    for fn in (F.batch_norm, torch.nn.functional.batch_norm):
        assert raised(lambda f=fn: f(torch.randn(4, 3), None, None, training=False)) == (
            RuntimeError,
            "running_mean must be defined in evaluation mode",
        )
    layer = bn.BatchNorm1d(3).eval()
    layer.running_mean = None
    with pytest.raises(RuntimeError, match="running_mean must be defined"):
        layer(torch.randn(4, 3))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool])
def test_non_floating_input_rejected_with_torch_type(dtype):
    x = torch.ones(4, 3, dtype=dtype)
    error_type, message = raised(lambda: bn.BatchNorm1d(3)(x))
    assert error_type is raised(lambda: torch.nn.BatchNorm1d(3)(x))[0] is NotImplementedError
    assert "floating-point" in message and str(dtype) in message


@pytest.mark.parametrize("eps", [-1e-5, -1.0])
def test_negative_eps_rejected_at_construction_and_in_eval(eps):
    with pytest.raises(ValueError, match="eps must be non-negative"):
        bn.BatchNorm1d(3, eps=eps)
    assert raised(lambda: F.batch_norm(torch.randn(4, 3), torch.zeros(3), torch.ones(3), eps=eps)) == raised(
        lambda: torch.nn.functional.batch_norm(torch.randn(4, 3), torch.zeros(3), torch.ones(3), eps=eps)
    )


@pytest.mark.parametrize("momentum", [-0.1, 1.5, float("nan")])
def test_momentum_outside_unit_interval_rejected(momentum):
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        bn.BatchNorm2d(3, momentum=momentum)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        F.batch_norm(torch.randn(4, 3), torch.zeros(3), torch.ones(3), training=True, momentum=momentum)


@pytest.mark.parametrize("num_features", [0, -2])
def test_non_positive_num_features_rejected(num_features):
    with pytest.raises(ValueError, match="num_features must be a positive"):
        bn.BatchNorm1d(num_features)


def test_mismatched_parameter_dtype_names_both():
    layer = bn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match=r"all inputs must share same datatype.*float32.*float64"):
        layer(torch.randn(4, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError):
        torch.nn.BatchNorm1d(3)(torch.randn(4, 3, dtype=torch.float64))


def test_functional_rejects_1d_input():
    with pytest.raises(ValueError, match="expected at least 2D input"):
        F.batch_norm(torch.randn(5), None, None, training=True)


def test_functional_wrong_sized_weight_like_torch():
    args = (torch.randn(4, 3), None, None, torch.ones(2))
    assert raised(lambda: F.batch_norm(*args, training=True)) == raised(
        lambda: torch.nn.functional.batch_norm(*args, training=True)
    )
