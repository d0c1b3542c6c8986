"""Which implementation runs a batch norm: the C++ kernel where it applies, else the tensor-op reference.

Both compute the same function; the kernel is one fused call (statistics, normalization, running
averages, closed-form backward), the reference is the readable composition of tensor ops that also
serves CUDA, torch.compile (whose compiler fuses it) and autograd graphs of the eval forward.
"""

import torch
from torch import Tensor

from bn import kernels
from bn._autograd import BatchNormFunction, normalize_affine
from bn._stats import LOW_PRECISION, values_per_channel
from bn._stats import batch_mean_var as reference_mean_var

KERNEL_DTYPES = (torch.float32, torch.float64, *LOW_PRECISION)


def kernels_for(input: Tensor):
    """torch.ops.bn when its CPU kernels can take `input`, else None."""
    if not input.is_cpu or input.dtype not in KERNEL_DTYPES or torch.compiler.is_compiling():
        return None
    return kernels.ops()


def train(input, weight, bias, running_mean, running_var, momentum, eps, *, stats=None, group_sizes=None) -> Tensor:
    """Normalize with batch statistics and update the running ones.

    `stats`: given (mean, var) to normalize with instead of the batch's (batch renorm's reference path: its
    kernel is an op of its own);
    `group_sizes`: samples per virtual batch, each normalized with its own statistics (ghost BN).
    """
    ops = kernels_for(input)
    sizes = [input.size(0)] if group_sizes is None else list(group_sizes)
    if ops is not None and stats is None:
        return ops.batch_norm_training.default(input, weight, bias, running_mean, running_var, sizes, momentum, eps)
    if len(sizes) > 1:
        chunks = input.split(sizes)
        return torch.cat([train(chunk, weight, bias, running_mean, running_var, momentum, eps) for chunk in chunks])
    if stats is None:
        output, mean, var = BatchNormFunction.apply(input, weight, bias, None, None, eps, None, None)
    else:
        mean, var = stats
        output, _, _ = BatchNormFunction.apply(input, weight, bias, mean, var, eps, values_per_channel(input), None)
    update_running_stats(running_mean, running_var, mean, var, values_per_channel(input), momentum)
    return output


def infer(input, weight, bias, running_mean, running_var, eps) -> Tensor:
    """Normalize with the running statistics; the kernel only where no autograd graph is wanted."""
    ops = kernels_for(input)
    if ops is not None and not _wants_graph(input, weight, bias):
        return ops.batch_norm_inference.default(input, weight, bias, running_mean, running_var, eps)
    return normalize_affine(input, weight, bias, running_mean, torch.rsqrt(running_var + eps))


def batch_mean_var(input: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance, without autograd history."""
    ops = kernels_for(input)
    if ops is not None:
        return ops.batch_mean_var.default(input.detach())
    return reference_mean_var(input)


def update_running_stats(running_mean, running_var, mean, var, count, momentum) -> None:
    """running = (1 - m) * running + m * batch, with the unbiased batch variance; skipped if empty."""
    if count == 0:
        return
    with torch.no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
        if running_var is not None:
            unbiased = momentum * count / max(count - 1, 1)
            running_var.mul_(1 - momentum).add_(var.to(running_var.dtype), alpha=unbiased)


def _wants_graph(*tensors) -> bool:
    """An eval forward whose output autograd must differentiate (the kernel op has no derivative)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
