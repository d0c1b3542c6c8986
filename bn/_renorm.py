r"""Batch renormalization (Ioffe 2017, "Batch Renormalization"), 1d and 2d.

In training, per channel, with the batch's mean mu_B and biased variance var_B and the running
mean mu and variance var (before this batch updates them):

    sigma_B = sqrt(var_B + eps),   sigma = sqrt(var + eps)
    r = clip(sigma_B / sigma, 1 / rmax, rmax),   d = clip((mu_B - mu) / sigma, -dmax, dmax)
    y = ((x - mu_B) / sigma_B * r + d) * gamma + beta

r and d are constants for autograd, so y = xhat * (gamma * r) + (gamma * d + beta) is plain batch
norm with an effective affine transform; its backward is batch norm's. Unclipped, r and d turn the
batch statistics into the running ones, so training and evaluation see the same function.

Warm-up: the limits for a training step depend on the number k of training steps before it
(num_batches_tracked): rmax_k = 1 + (rmax - 1) * p and dmax_k = dmax * p with p = min(k / warmup, 1),
so with warmup > 0 the first step is plain batch norm and every step after the first `warmup` ones
uses the full limits; warmup=0 uses them from the start. rmax=1, dmax=0 is plain batch norm.
Evaluation is plain batch norm with the running statistics, which are always tracked.
"""

import torch
from torch import Tensor

from bn import _paths
from bn import functional as F
from bn._base import BatchNormBase


class _BatchRenorm(BatchNormBase):
    """Batch norm corrected towards the running statistics by the clipped constants r and d."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        rmax: float = 3.0,
        dmax: float = 5.0,
        warmup: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        _check_limits(rmax, dmax, warmup)
        super().__init__(num_features, eps, momentum, affine, True, device, dtype)
        self.rmax, self.dmax, self.warmup = rmax, dmax, warmup

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rmax={self.rmax}, dmax={self.dmax}, warmup={self.warmup}"

    def _normalize(self, input, running_mean, running_var, use_batch_stats: bool, factor: float) -> Tensor:
        """Training: batch norm with gamma * r and gamma * d + beta, then the usual running-stats update."""
        if not use_batch_stats:
            return super()._normalize(input, running_mean, running_var, use_batch_stats, factor)
        F.check_batch_norm_args(input, running_mean, running_var, self.weight, self.bias, True, factor, self.eps)
        ops = _paths.kernels_for(input)
        if ops is not None:
            rmax, dmax = self._limits(torch.float64)
            args = (running_mean, running_var, float(rmax), float(dmax), factor, self.eps)
            return ops.batch_renorm_training.default(input, self.weight, self.bias, *args)
        mean, var = _paths.batch_mean_var(input)
        r, d = self._corrections(mean, var, running_mean, running_var)
        weight, bias = self._effective_affine(r, d)
        return _paths.train(input, weight, bias, running_mean, running_var, factor, self.eps, stats=(mean, var))

    def _corrections(
        self, mean: Tensor, var: Tensor, running_mean: Tensor, running_var: Tensor
    ) -> tuple[Tensor, Tensor]:
        """r and d from the batch and running statistics, clipped to this step's limits (no autograd history)."""
        rmax, dmax = self._limits(mean.dtype)
        sigma = torch.sqrt(running_var.to(var.dtype) + self.eps)
        r = (torch.sqrt(var + self.eps) / sigma).clamp(1 / rmax, rmax)
        d = ((mean - running_mean.to(mean.dtype)) / sigma).clamp(-dmax, dmax)
        return r, d

    def _limits(self, dtype: torch.dtype) -> tuple[Tensor | float, Tensor | float]:
        """This step's rmax and dmax; without a warm-up no tensor op (forward() has counted this step already)."""
        if self.warmup == 0:
            return self.rmax, self.dmax
        return warmup_limits(self.rmax, self.dmax, self.warmup, self.num_batches_tracked - 1, dtype)

    def _effective_affine(self, r: Tensor, d: Tensor) -> tuple[Tensor, Tensor]:
        """(gamma * r, gamma * d + beta): the renormalization folded into the affine transform."""
        if self.weight is None:
            return r, d
        return self.weight * r, torch.addcmul(self.bias, self.weight, d)


def warmup_limits(
    rmax: float, dmax: float, warmup: int, steps_done: Tensor, dtype: torch.dtype
) -> tuple[Tensor | float, Tensor | float]:
    """Limits after `steps_done` training steps, linear from (1, 0); computed on the device, so no GPU sync."""
    if warmup == 0:
        return rmax, dmax
    progress = (steps_done.to(dtype) / warmup).clamp(max=1.0)
    return 1 + (rmax - 1) * progress, dmax * progress


def _check_limits(rmax: float, dmax: float, warmup: int) -> None:
    """r in [1/rmax, rmax] needs rmax >= 1, d in [-dmax, dmax] needs dmax >= 0, and steps are counted."""
    if not rmax >= 1:
        raise ValueError(f"rmax must be >= 1 (r is clipped to [1/rmax, rmax]; 1 turns r off), but got {rmax}")
    if not dmax >= 0:
        raise ValueError(f"dmax must be >= 0 (d is clipped to [-dmax, dmax]; 0 turns d off), but got {dmax}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(
            f"warmup must be an int >= 0 (training steps over which rmax and dmax ramp up from 1 and 0; "
            f"0 for the full limits from the start), but got {warmup!r}"
        )


class BatchRenorm1d(_BatchRenorm):
    r"""Batch renormalization over (N, C) or (N, C, L) input, per channel C.

    y = ((x - E[x]) / sqrt(Var[x] + eps) * r + d) * gamma + beta, E/Var over N (and L); output has the input's shape.
    """

    _expected_dims = (2, 3)


class BatchRenorm2d(_BatchRenorm):
    r"""Batch renormalization over (N, C, H, W) input, per channel C; statistics over N, H and W.

    y = ((x - E[x]) / sqrt(Var[x] + eps) * r + d) * gamma + beta; output has the input's shape.
    """

    _expected_dims = (4,)
