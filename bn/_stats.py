"""Per-channel batch statistics, computed in a precision that survives large offsets."""

import torch
from torch import Tensor

LOW_PRECISION = (torch.float16, torch.bfloat16)


def stat_dtype(input: Tensor) -> torch.dtype:
    """Statistics of half/bfloat16 inputs are kept in float32, like torch's kernels do."""
    return torch.float32 if input.dtype in LOW_PRECISION else input.dtype


def reduce_dims(input: Tensor) -> list[int]:
    """Every dimension but the channel one (dim 1): batch and spatial."""
    return [0, *range(2, input.dim())]


def channel_view(input: Tensor) -> list[int]:
    """Shape (1, C, 1, ...) that broadcasts a per-channel vector against `input`."""
    return [1, input.size(1)] + [1] * (input.dim() - 2)


def values_per_channel(input: Tensor) -> int:
    """How many values each channel's statistics are taken over: N * spatial size."""
    return input.numel() // input.size(1) if input.size(1) else 0


def centered_stats(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Corrected two-pass statistics: (scratch buffer of x's shape, m0, mean, biased var).

    Centering on a first mean estimate m0 keeps a large offset (mean >> std) from cancelling;
    the correction s = mean(x - m0) recovers the rounding of that estimate. An empty batch gives
    mean 0, var 0. The scratch buffer (its content is spent) is handed back so that the caller
    can write the output into it: one allocation per call, which is what costs on CPU.
    """
    dims, count = reduce_dims(x), max(values_per_channel(x), 1)
    rough_mean = x.sum(dims) / count
    scratch = x - rough_mean.view(channel_view(x))
    shift = scratch.sum(dims) / count
    var = (scratch.mul_(scratch).sum(dims) / count - shift * shift).clamp_(min=0)
    return scratch, rough_mean, rough_mean + shift, var


def batch_mean_var(input: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance, without autograd history."""
    with torch.no_grad():
        _, _, mean, var = centered_stats(input.detach().to(stat_dtype(input)))
    return mean, var


def merge_mean_var(mean: Tensor, var: Tensor, count: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Combine per-group (rows) mean/var/count into global ones (Chan et al.'s parallel rule).

    mean, var: (G, C); count: (G,). Groups with count 0 contribute nothing.
    """
    count = count.to(mean.dtype)
    total = count.sum()
    weights = (count / total.clamp(min=1)).unsqueeze(1)
    present = (count > 0).unsqueeze(1)
    mean = torch.where(present, mean, torch.zeros_like(mean))
    var = torch.where(present, var, torch.zeros_like(var))
    global_mean = (weights * mean).sum(0)
    global_var = (weights * (var + (mean - global_mean) ** 2)).sum(0)
    return global_mean, global_var, total
