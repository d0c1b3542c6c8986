"""initialize: each scheme's statistics, zero biases, untouched norm layers, determinism."""

import math

import pytest
import torch
from torch import nn

from contracts.spec import InitSpec
from worker.engine.init import initialize

FAN_IN, FAN_OUT = 1000, 600  # the big Linear whose weight statistics are measured


def make_model() -> nn.Sequential:
    """One of each initialized layer kind, plus a norm layer that must keep its own init."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(FAN_IN, FAN_OUT), nn.BatchNorm1d(FAN_OUT), nn.Conv1d(4, 8, 3), nn.Conv2d(4, 8, 3), nn.Linear(8, 3)
    )


def initialized(activation: str = "relu", **init) -> nn.Sequential:
    """A fresh model initialized with the given scheme."""
    model = make_model()
    initialize(model, InitSpec(**init), activation)
    return model


def weighted(model: nn.Module) -> list[nn.Module]:
    """The layers initialize() touches."""
    return [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)]


@pytest.mark.parametrize(
    ("init", "activation", "std"),
    [
        ({"scheme": "normal", "std": 0.5, "scale": 2.0}, "relu", 1.0),
        ({"scheme": "uniform", "a": 0.3, "scale": 2.0}, "relu", 0.6 / math.sqrt(3)),
        ({"scheme": "xavier", "scale": 1.5}, "tanh", 1.5 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ({"scheme": "kaiming", "scale": 2.0}, "relu", 2.0 * math.sqrt(2 / FAN_IN)),
        ({"scheme": "kaiming"}, "leaky_relu", math.sqrt(2 / (1 + 0.01**2) / FAN_IN)),
        ({"scheme": "kaiming", "scale": 0.5}, "sigmoid", 0.5 * math.sqrt(1 / FAN_IN)),
        ({"scheme": "orthogonal", "scale": 3.0}, "relu", 3.0 / math.sqrt(FAN_IN)),
    ],
)
def test_scheme_gives_its_std_and_zero_biases(init, activation, std):
    model = initialized(activation, **init)
    weight = model[0].weight
    assert weight.mean().abs().item() < 0.01 * std
    assert weight.std().item() == pytest.approx(std, rel=0.02)
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in weighted(model))


def test_uniform_stays_inside_its_bounds():
    weight = initialized(scheme="uniform", a=0.3, scale=2.0)[0].weight
    assert weight.abs().max().item() <= 0.6
    assert weight.abs().max().item() > 0.59


@pytest.mark.parametrize("index", [0, 2, 3])
def test_orthogonal_rows_are_orthonormal_times_scale(index):
    weight = initialized(scheme="orthogonal", scale=3.0)[index].weight.flatten(1)
    rows = min(weight.shape)
    gram = weight @ weight.T if weight.shape[0] == rows else weight.T @ weight
    torch.testing.assert_close(gram, 9.0 * torch.eye(rows), atol=1e-3, rtol=1e-3)


def test_default_scales_pytorch_weights_and_keeps_biases():
    reference, model = make_model(), initialized(scheme="default", scale=0.25)
    for ours, theirs in zip(weighted(model), weighted(reference), strict=True):
        torch.testing.assert_close(ours.weight, 0.25 * theirs.weight)
        torch.testing.assert_close(ours.bias, theirs.bias)


@pytest.mark.parametrize("scheme", ["default", "kaiming", "xavier", "normal", "uniform", "orthogonal"])
def test_norm_layers_keep_their_own_init(scheme):
    norm = initialized(scheme=scheme, scale=5.0)[1]
    assert torch.equal(norm.weight, torch.ones(FAN_OUT)) and torch.equal(norm.bias, torch.zeros(FAN_OUT))


@pytest.mark.parametrize("scheme", ["default", "kaiming", "xavier", "normal", "uniform", "orthogonal"])
def test_same_seed_same_weights(scheme):
    first, second = initialized(scheme=scheme), initialized(scheme=scheme)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
