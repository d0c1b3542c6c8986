"""Limits that keep one job from exhausting a worker, and the parameter count they need (no torch)."""

from math import prod
from typing import TYPE_CHECKING

from contracts.datasets import DATASETS

if TYPE_CHECKING:
    from contracts.spec import JobSpec, ModelSpec

LIMITS = {
    "max_width": 4096,
    "max_layers": 32,
    "max_params": 20_000_000,
    "max_steps": 200_000,
    "max_batch_size": 4096,
    "max_eval_size": 100_000,
}


def check_limits(spec: "JobSpec") -> None:
    """Each limit as its own message naming the field and the bound."""
    model, training, widths = spec.model, spec.training, f"model.{_width_field(spec.model)}"
    if max(model.widths(), default=0) > LIMITS["max_width"]:
        raise ValueError(f"{widths} values may be at most {LIMITS['max_width']}, got {max(model.widths())}")
    layers = len(model.widths()) * (model.blocks * 2 if model.arch == "resnet" else 1)
    if layers > LIMITS["max_layers"]:
        fields = f"{widths} or model.blocks" if model.arch == "resnet" else widths
        raise ValueError(
            f"the model may have at most {LIMITS['max_layers']} hidden layers, this one has {layers}: shorten {fields}"
        )
    if not model.widths():
        raise ValueError(f"{widths} needs at least one layer")
    params = count_params(spec)
    if params > LIMITS["max_params"]:
        raise ValueError(
            f"the model would have {params:,} parameters; the limit is {LIMITS['max_params']:,}: narrow {widths}"
        )
    for field, limit in (("steps", "max_steps"), ("batch_size", "max_batch_size"), ("eval_size", "max_eval_size")):
        value = getattr(training, field)
        if value is not None and value > LIMITS[limit]:
            raise ValueError(f"training.{field} may be at most {LIMITS[limit]:,}, got {value:,}")


def _width_field(model: "ModelSpec") -> str:
    """The spec field that holds the widths of this architecture."""
    return {"mlp": "hidden", "cnn": "channels", "resnet": "stages"}[model.arch]


def count_params(spec: "JobSpec") -> int:
    """Trainable parameters of the model the engine will build for this spec (a test keeps them equal)."""
    info, model = DATASETS[spec.dataset.name], spec.model
    classes = info.num_classes
    if model.arch == "mlp":
        body, last = _mlp_params(prod(info.input_shape), model)
    elif model.arch == "cnn":
        body, last = _cnn_params(info.input_shape, model)
    else:
        body, last = _resnet_params(info.input_shape, model)
    return body + last * classes + classes


def _norm_params(model: "ModelSpec", width: int) -> int:
    """Every norm kind has a scale and a shift per channel when affine."""
    return 2 * width if model.norm != "none" and model.norm_options.affine else 0


def _mlp_params(inputs: int, model: "ModelSpec") -> tuple[int, int]:
    """Linear(prev, w) + norm per hidden layer; returns (params, last width)."""
    total, prev = 0, inputs
    for width in model.hidden:
        total += prev * width + width + _norm_params(model, width)
        prev = width
    return total, prev


def _cnn_params(shape: tuple[int, ...], model: "ModelSpec") -> tuple[int, int]:
    """ConvNd(prev, c, k) + norm per layer, then global average pooling; returns (params, last channels)."""
    kernel = model.kernel_size ** (len(shape) - 1)
    total, prev = 0, shape[0]
    for channels in model.channels:
        total += prev * channels * kernel + channels + _norm_params(model, channels)
        prev = channels
    return total, prev


def _resnet_params(shape: tuple[int, ...], model: "ModelSpec") -> tuple[int, int]:
    """Stem conv, then basic blocks (two 3-wide convs, 1-wide projection when the shape changes)."""
    kernel = 3 ** (len(shape) - 1)
    first = model.stages[0]
    total, prev = shape[0] * first * kernel + first + _norm_params(model, first), first
    for stage, width in enumerate(model.stages):
        for block in range(model.blocks):
            strided = stage > 0 and block == 0
            total += prev * width * kernel + width + _norm_params(model, width)
            total += width * width * kernel + width + _norm_params(model, width)
            if strided or prev != width:
                total += prev * width + width + _norm_params(model, width)
            prev = width
    return total, prev
