"""Model builders: spec -> an MLP, a small CNN or a small CIFAR-style ResNet (as contracts.limits.count_params counts).

Every hidden layer's activation is its own module, listed in `Network.activation_sites`, so a forward
hook on it sees exactly "the input to the nonlinearity" of that layer.
"""

from dataclasses import dataclass, field
from math import prod

from torch import Tensor, nn

from contracts.datasets import DATASETS
from contracts.spec import JobSpec, ModelSpec
from worker.engine.init import LEAKY_RELU_SLOPE, initialize
from worker.engine.norms import make_norm

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE),
    "elu": nn.ELU,
    "identity": nn.Identity,
}
# Layers by spatial rank: 1 for signals (N, C, L), 2 for images (N, C, H, W).
_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_POOL = {"max": {1: nn.MaxPool1d, 2: nn.MaxPool2d}, "avg": {1: nn.AvgPool1d, 2: nn.AvgPool2d}}
_GLOBAL_POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}


class Network(nn.Module):
    """A body and a linear classifier, plus the named activation sites the metrics hook into."""

    def __init__(self, body: nn.Sequential, head: nn.Linear, sites: list[tuple[str, nn.Module]]) -> None:
        super().__init__()
        self.body, self.head = body, head
        self.activation_sites = sites

    def forward(self, x: Tensor) -> Tensor:
        """(N, *input_shape) -> logits (N, num_classes)."""
        return self.head(self.body(x))


class _BasicBlock(nn.Module):
    """ResNet basic block: activation(branch(x) + shortcut(x))."""

    def __init__(self, branch: nn.Sequential, shortcut: nn.Module, activation: nn.Module) -> None:
        super().__init__()
        self.branch, self.shortcut, self.activation = branch, shortcut, activation

    def forward(self, x: Tensor) -> Tensor:
        """The residual sum goes through the block's own activation (a site of its own)."""
        return self.activation(self.branch(x) + self.shortcut(x))


@dataclass
class _Parts:
    """Makes one spec's layers (convs of the input's rank, norms, fresh activations) and records the sites."""

    model: ModelSpec
    spatial_dims: int  # 0 for MLP features, else the input's spatial rank
    sites: list[tuple[str, nn.Module]] = field(default_factory=list)

    def conv(self, inputs: int, outputs: int, kernel: int, stride: int = 1) -> nn.Module:
        """A biased convolution that keeps the size for odd kernels (stride 1)."""
        return _CONV[self.spatial_dims](inputs, outputs, kernel, stride=stride, padding=kernel // 2)

    def norm(self, width: int) -> list[nn.Module]:
        """The norm layer as a list: empty for norm 'none', so switching BN off adds no module at all."""
        if self.model.norm == "none":
            return []
        return [make_norm(self.model.norm, width, self.spatial_dims, self.model.norm_options)]

    def site(self, name: str) -> nn.Module:
        """A new activation module, recorded as the site `name`."""
        activation = _ACTIVATIONS[self.model.activation]()
        self.sites.append((name, activation))
        return activation

    def norm_act(self, width: int, name: str) -> list[nn.Module]:
        """Norm and activation in the order norm_options.position asks for."""
        norm, activation = self.norm(width), [self.site(name)]
        return norm + activation if self.model.norm_options.position == "before" else activation + norm

    def dropout(self) -> list[nn.Module]:
        """Dropout only when asked for, so a model without it has no Dropout module."""
        return [nn.Dropout(self.model.dropout)] if self.model.dropout > 0 else []

    def global_pool(self) -> list[nn.Module]:
        """Average over every spatial position: (N, C, *) -> (N, C)."""
        return [_GLOBAL_POOL[self.spatial_dims](1), nn.Flatten()]


def build_model(spec: JobSpec) -> Network:
    """The spec's network, initialized from torch's global RNG (the caller seeds it)."""
    info = DATASETS[spec.dataset.name]
    network = _BUILDERS[spec.model.arch](spec.model, info.input_shape, info.num_classes)
    initialize(network, spec.model.init, spec.model.activation)
    return network


def _mlp(model: ModelSpec, shape: tuple[int, ...], classes: int) -> Network:
    """Flatten, then Linear -> norm/act -> dropout per hidden width; sites h1, h2, ..."""
    parts, layers, prev = _Parts(model, 0), [nn.Flatten()], prod(shape)
    for index, width in enumerate(model.hidden, 1):
        layers += [nn.Linear(prev, width), *parts.norm_act(width, f"h{index}"), *parts.dropout()]
        prev = width
    return Network(nn.Sequential(*layers), nn.Linear(prev, classes), parts.sites)


def _cnn(model: ModelSpec, shape: tuple[int, ...], classes: int) -> Network:
    """Conv -> norm/act -> 2x pool -> dropout per layer, global average pool; sites c1, c2, ..."""
    parts, layers, prev, size = _Parts(model, len(shape) - 1), [], shape[0], shape[1:]
    kernel = model.kernel_size
    for index, channels in enumerate(model.channels, 1):
        layers += [parts.conv(prev, channels, kernel), *parts.norm_act(channels, f"c{index}")]
        size = tuple(extent + 2 * (kernel // 2) - kernel + 1 for extent in size)
        if model.pool != "none" and min(size) >= 2:  # deep nets on small inputs stop pooling at 1
            layers.append(_POOL[model.pool][parts.spatial_dims](2))
            size = tuple(extent // 2 for extent in size)
        layers += parts.dropout()
        prev = channels
    return Network(nn.Sequential(*layers, *parts.global_pool()), nn.Linear(prev, classes), parts.sites)


def _resnet(model: ModelSpec, shape: tuple[int, ...], classes: int) -> Network:
    """Stem, `blocks` basic blocks per stage (stride 2 entering stages > 1), global pool, dropout, classifier."""
    parts, prev = _Parts(model, len(shape) - 1), model.stages[0]
    layers = [parts.conv(shape[0], prev, 3), *parts.norm_act(prev, "stem")]
    for stage, width in enumerate(model.stages, 1):
        for block in range(1, model.blocks + 1):
            stride = 2 if stage > 1 and block == 1 else 1
            layers.append(_basic_block(parts, prev, width, stride, f"s{stage}b{block}"))
            prev = width
    body = nn.Sequential(*layers, *parts.global_pool(), *parts.dropout())
    return Network(body, nn.Linear(prev, classes), parts.sites)


def _basic_block(parts: _Parts, prev: int, width: int, stride: int, name: str) -> _BasicBlock:
    """conv3 -> norm/act (site `name`a) -> conv3 -> norm, plus a projection when the shape changes (site `name`b)."""
    branch = nn.Sequential(
        parts.conv(prev, width, 3, stride),
        *parts.norm_act(width, f"{name}a"),
        parts.conv(width, width, 3),
        *parts.norm(width),
    )
    same_shape = stride == 1 and prev == width
    shortcut = nn.Identity() if same_shape else nn.Sequential(parts.conv(prev, width, 1, stride), *parts.norm(width))
    return _BasicBlock(branch, shortcut, parts.site(f"{name}b"))


_BUILDERS = {"mlp": _mlp, "cnn": _cnn, "resnet": _resnet}
