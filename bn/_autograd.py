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


def _normalize_batch(x: Tensor, weight, bias, eps: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Normalize with the batch's own statistics, writing into the statistics' scratch buffer."""
    scratch, rough_mean, mean, var = centered_stats(x)
    invstd = torch.rsqrt(var + eps)
    scale, shift = affine_coefficients(weight, bias, mean - rough_mean, invstd)
    shape = channel_view(x)
    out = torch.sub(x, rough_mean.view(shape), out=scratch).mul_(scale.view(shape)).add_(shift.view(shape))
    return out, mean, var, invstd


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
            out, mean, var, invstd = _normalize_batch(x, weight, bias, eps)
            count = values_per_channel(x)
        else:
            invstd = torch.rsqrt(var + eps)
            out = normalize_affine(x, weight, bias, mean, invstd)
        ctx.save_for_backward(input, weight, mean, invstd)
        ctx.eps, ctx.count, ctx.group = eps, count, group
        ctx.mark_non_differentiable(mean, var)
        return out.to(input.dtype), mean, var

    @staticmethod
    def backward(ctx, grad_output, _grad_mean, _grad_var):
        input, weight, mean, invstd = ctx.saved_tensors
        x = input.to(stat_dtype(input))
        differentiable = torch.is_grad_enabled()  # create_graph=True: double backward wants a graph
        if differentiable and ctx.group is None:
            mean, invstd = _differentiable_stats(x, ctx.eps)
        dims, mean = reduce_dims(x), mean.view(channel_view(x))
        dy = grad_output.to(x.dtype)
        work = x - mean
        sum_dy = dy.sum(dims)
        sum_dy_xmu = (dy * work if differentiable else work.mul_(dy)).sum(dims)
        grad_weight = sum_dy_xmu * invstd if weight is not None and ctx.needs_input_grad[1] else None
        grad_bias = sum_dy if ctx.needs_input_grad[2] else None
        grad_input = None
        if ctx.needs_input_grad[0]:
            sum_dy, sum_dy_xmu = _global_sums(ctx.group, sum_dy, sum_dy_xmu)
            scale, proj, shift = _grad_input_coefficients(weight, invstd, sum_dy, sum_dy_xmu, ctx.count, x)
            if differentiable:
                grad_input = dy * scale - (x - mean) * proj + shift
            else:
                grad_input = torch.sub(x, mean, out=work).mul_(-proj).addcmul_(dy, scale).add_(shift)
            grad_input = grad_input.to(input.dtype)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


def _differentiable_stats(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Recompute mean/invstd inside the graph so that double backward sees their x-dependence."""
    var, mean = torch.var_mean(x, dim=reduce_dims(x), correction=0)
    return mean, torch.rsqrt(var + eps)


def _global_sums(group, sum_dy: Tensor, sum_dy_xmu: Tensor) -> tuple[Tensor, Tensor]:
    """SyncBatchNorm: dx needs the sums over every rank's slice of the batch."""
    if group is None:
        return sum_dy, sum_dy_xmu
    sums = torch.stack([sum_dy, sum_dy_xmu])
    dist.all_reduce(sums, group=group)
    return sums[0], sums[1]


def _grad_input_coefficients(weight, invstd, sum_dy, sum_dy_xmu, count, x) -> tuple[Tensor, Tensor, Tensor]:
    """dx = k * dy - (x - mean) * k * invstd^2 * sum_dy_xmu / m - k * sum_dy / m, k = gamma * invstd."""
    k = invstd if weight is None else invstd * weight
    k_over_m = k / max(count, 1)
    shape = channel_view(x)
    proj = k_over_m * invstd * invstd * sum_dy_xmu
    return k.view(shape), proj.view(shape), (-k_over_m * sum_dy).view(shape)
