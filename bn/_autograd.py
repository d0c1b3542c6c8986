"""The training-mode batch-norm autograd.Function with its closed-form backward.

Forward, per channel c over the m values it is normalized across:
    xhat = (x - mean) * invstd,            invstd = 1 / sqrt(var + eps)
    y    = gamma * xhat + beta
Backward (Ioffe & Szegedy 2015, section 3, simplified):
    dbeta  = sum(dy)
    dgamma = sum(dy * xhat)
    dx     = gamma * invstd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))
Only the input, mean and invstd are saved; no graph of primitive ops is kept.
"""

import torch
import torch.distributed as dist
from torch import Tensor

from bn._stats import centered_stats, channel_view, reduce_dims, stat_dtype, values_per_channel


def affine_coefficients(weight, bias, mean: Tensor, invstd: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel scale and shift so that y = x * scale + shift."""
    scale = invstd if weight is None else invstd * weight
    shift = -mean * scale
    return scale, shift if bias is None else shift + bias


def normalize_affine(input: Tensor, weight, bias, mean: Tensor, invstd: Tensor) -> Tensor:
    """y = (x - mean) * invstd * weight + bias as x * scale + shift (mul+add_ beats a broadcast addcmul)."""
    scale, shift = affine_coefficients(weight, bias, mean, invstd)
    shape = channel_view(input)
    return torch.mul(input.to(scale.dtype), scale.view(shape)).add_(shift.view(shape)).to(input.dtype)


def _normalize_batch(x: Tensor, weight, bias, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Normalize with the batch's own statistics, in the centered buffer (one allocation)."""
    out, shift, mean, var = centered_stats(x)
    scale, offset = affine_coefficients(weight, bias, shift, torch.rsqrt(var + eps))
    shape = channel_view(x)
    out.mul_(scale.view(shape)).add_(offset.view(shape))
    return out, mean, var


class BatchNormFunction(torch.autograd.Function):
    """y, batch mean, batch var = f(x); mean and var are outputs for the running averages.

    Given `mean`/`var` (already merged across ranks, or any fixed statistics) it normalizes
    with them; `count` is then the global values per channel and `group` the process group
    whose sums in dx are all-reduced (SyncBatchNorm); dgamma and dbeta stay local, as in torch.
    """

    @staticmethod
    def forward(ctx, input, weight, bias, mean, var, eps, count, group):
        x = input.to(stat_dtype(input))
        if mean is None:
            out, mean, var = _normalize_batch(x, weight, bias, eps)
            count = values_per_channel(x)
        else:
            out = normalize_affine(x, weight, bias, mean, torch.rsqrt(var + eps))
        invstd = torch.rsqrt(var + eps)
        ctx.save_for_backward(input, weight, mean, invstd)
        ctx.eps, ctx.count, ctx.group = eps, count, group
        ctx.mark_non_differentiable(mean, var)
        return out.to(input.dtype), mean, var

    @staticmethod
    def backward(ctx, grad_output, _grad_mean, _grad_var):
        input, weight, mean, invstd = ctx.saved_tensors
        x = input.to(stat_dtype(input))
        if torch.is_grad_enabled() and ctx.group is None:
            mean, invstd = _differentiable_stats(x, ctx.eps)
        dims = reduce_dims(x)
        dy = grad_output.to(x.dtype)
        xmu = x - mean.view(channel_view(x))
        sum_dy = dy.sum(dims)
        sum_dy_xmu = (dy * xmu).sum(dims)
        grad_weight = sum_dy_xmu * invstd if weight is not None and ctx.needs_input_grad[1] else None
        grad_bias = sum_dy if ctx.needs_input_grad[2] else None
        grad_input = None
        if ctx.needs_input_grad[0]:
            grad_input = _grad_input(ctx, dy, xmu, weight, invstd, sum_dy, sum_dy_xmu).to(input.dtype)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


def _differentiable_stats(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Recompute mean/invstd inside the graph so that double backward sees their x-dependence."""
    var, mean = torch.var_mean(x, dim=reduce_dims(x), correction=0)
    return mean, torch.rsqrt(var + eps)


def _grad_input(ctx, dy, xmu, weight, invstd, sum_dy, sum_dy_xmu) -> Tensor:
    """dx = k * (dy - sum_dy / m - xmu * invstd^2 * sum_dy_xmu / m), k = gamma * invstd, in xmu's buffer."""
    if ctx.group is not None:
        sums = torch.stack([sum_dy, sum_dy_xmu])
        dist.all_reduce(sums, group=ctx.group)
        sum_dy, sum_dy_xmu = sums[0], sums[1]
    shape = channel_view(dy)
    k = invstd if weight is None else invstd * weight.to(invstd.dtype)
    inv_count = 1.0 / max(ctx.count, 1)
    proj = k * invstd * invstd * sum_dy_xmu * inv_count
    if torch.is_grad_enabled():
        return dy * k.view(shape) - xmu * proj.view(shape) - (k * sum_dy * inv_count).view(shape)
    return xmu.mul_(-proj.view(shape)).addcmul_(dy, k.view(shape)).sub_((k * sum_dy * inv_count).view(shape))
