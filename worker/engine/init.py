"""Weight initialization: the spec's scheme applied to every Linear/Conv layer; norm layers keep their own."""

import torch
from torch import nn

from contracts.spec import InitSpec

LEAKY_RELU_SLOPE = 0.01  # the models' LeakyReLU slope; kaiming's gain is computed for it
WEIGHTED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)  # the layers initialize() and the ICS measure see


def initialize(model: nn.Module, init: InitSpec, activation: str) -> None:
    """Re-initialize each Linear/Conv layer in module order, so the result depends only on torch's RNG state."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, WEIGHTED_LAYERS):
                _init_layer(module, init, activation)


def _init_layer(layer: nn.Module, init: InitSpec, activation: str) -> None:
    """Default keeps PyTorch's weights and biases (weights scaled); every other scheme zeroes the bias."""
    if init.scheme == "default":
        layer.weight.mul_(init.scale)
        return
    _SCHEMES[init.scheme](layer.weight, init, activation)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def _kaiming(weight: torch.Tensor, init: InitSpec, activation: str) -> None:
    """He init for the rectifiers (which halve the variance); the plain fan-in rule for everything else."""
    if activation in ("relu", "leaky_relu"):
        nn.init.kaiming_normal_(
            weight, a=LEAKY_RELU_SLOPE if activation == "leaky_relu" else 0, nonlinearity=activation
        )
    else:
        nn.init.kaiming_normal_(weight, nonlinearity="linear")
    weight.mul_(init.scale)


_SCHEMES = {
    "kaiming": _kaiming,
    "xavier": lambda weight, init, _: nn.init.xavier_normal_(weight, gain=init.scale),
    "normal": lambda weight, init, _: nn.init.normal_(weight, 0.0, init.std * init.scale),
    "uniform": lambda weight, init, _: nn.init.uniform_(weight, -init.a * init.scale, init.a * init.scale),
    "orthogonal": lambda weight, init, _: nn.init.orthogonal_(weight, gain=init.scale),
}
