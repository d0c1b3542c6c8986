"""The norm factory: the one place that maps a spec's `model.norm` to the layer that normalizes a block."""

from torch import nn

import bn
from contracts.spec import NormOptions

# kind -> (layer for (N, C) and (N, C, L) input, layer for (N, C, H, W) input)
_BATCH_NORMS = {
    "batchnorm": (bn.BatchNorm1d, bn.BatchNorm2d),
    "torch_batchnorm": (nn.BatchNorm1d, nn.BatchNorm2d),
    "sync_batchnorm": (bn.SyncBatchNorm, bn.SyncBatchNorm),  # the statistics of every rank's share of the batch
    "ghost_batchnorm": (bn.GhostBatchNorm1d, bn.GhostBatchNorm2d),
    "batch_renorm": (bn.BatchRenorm1d, bn.BatchRenorm2d),
}
_READ_RUNNING_STATS_IN_TRAINING = _BATCH_NORMS["batch_renorm"]  # r and d correct the batch towards them


def reads_running_stats(model: nn.Module) -> bool:
    """Whether some layer's training forward reads its running statistics (only batch renorm's does)."""
    return any(isinstance(module, _READ_RUNNING_STATS_IN_TRAINING) for module in model.modules())


def make_norm(kind: str, width: int, spatial_dims: int, options: NormOptions) -> nn.Module:
    """A norm layer over `width` channels of (N, C) (spatial_dims 0), (N, C, L) (1) or (N, C, H, W) (2) input."""
    if spatial_dims not in (0, 1, 2):
        raise ValueError(f"spatial_dims must be 0 (features), 1 or 2, got {spatial_dims}")
    if kind == "none":
        return nn.Identity()
    if kind in _BATCH_NORMS:
        layer = _BATCH_NORMS[kind][spatial_dims == 2]
        return layer(
            width, eps=options.eps, momentum=options.momentum, affine=options.affine, **_variant_args(kind, options)
        )
    if kind == "layernorm" and spatial_dims == 0:
        return nn.LayerNorm(width, eps=options.eps, elementwise_affine=options.affine)
    if kind in ("layernorm", "groupnorm"):
        # nn.GroupNorm also takes (N, C) input, so MLP features need no reshaping.
        groups = options.groups if kind == "groupnorm" else 1
        return nn.GroupNorm(groups, width, eps=options.eps, affine=options.affine)
    raise ValueError(f"unknown norm kind {kind!r}")


def _variant_args(kind: str, options: NormOptions) -> dict:
    """The knobs only the ghost and renorm variants take."""
    if kind == "ghost_batchnorm":
        return {"virtual_batch_size": options.virtual_batch_size}
    if kind == "batch_renorm":
        return {"rmax": options.rmax, "dmax": options.dmax, "warmup": options.warmup}
    return {}
