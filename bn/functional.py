"""Functional batch normalization: the same signature and semantics as torch.nn.functional."""

import torch
from torch import Tensor

from bn import _paths
from bn._stats import LOW_PRECISION

__all__ = ["batch_norm"]


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    r"""Normalize each channel (dim 1) of `input` of shape (N, C, *) over the batch and spatial dims.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    Training: E and Var are the batch's (biased variance); given running buffers of shape (C,),
    they are updated in place as running = (1 - momentum) * running + momentum * batch, the
    variance with the unbiased estimate. Eval: E and Var are the running buffers.
    """
    check_batch_norm_args(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        return _paths.infer(input, weight, bias, running_mean, running_var, eps)
    return _paths.train(input, weight, bias, running_mean, running_var, momentum, eps)


def check_batch_norm_args(
    input, running_mean, running_var, weight, bias, training, momentum, eps, *, check_batch_size=True
) -> None:
    """Reject what torch rejects, with torch's exception types and messages (and a hint).

    SyncBatchNorm passes check_batch_size=False: one rank may hold a single value per channel.
    """
    if input.dim() < 2:
        raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")
    if not input.is_floating_point():
        raise NotImplementedError(
            f'"batch_norm" not implemented for {input.dtype}: pass a floating-point input, e.g. input.float()'
        )
    if training and check_batch_size and input.numel() == input.size(1) != 0:  # one value per channel
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.size()}")
    check_eps(eps, training)
    check_momentum(momentum)
    check_channel_tensors(input, (running_mean, running_var, weight, bias))
    if not training:
        for name, tensor in (("running_mean", running_mean), ("running_var", running_var)):
            if tensor is None:
                raise RuntimeError(f"{name} must be defined in evaluation mode")


def check_eps(eps: float, training: bool) -> None:
    """eps keeps 1/sqrt(var + eps) finite: positive in training, non-negative in eval."""
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")


def check_momentum(momentum: float | None) -> None:
    """A momentum outside [0, 1] would extrapolate the running statistics instead of averaging."""
    if momentum is not None and not 0.0 <= momentum <= 1.0:
        raise ValueError(
            f"batch_norm momentum must be in [0, 1] (or None for a cumulative average), but got {momentum}"
        )


CHANNEL_TENSORS = ("running_mean", "running_var", "weight", "bias")


def check_channel_tensors(input: Tensor, tensors: tuple[Tensor | None, ...]) -> None:
    """Each per-channel tensor (CHANNEL_TENSORS, in order) has C elements and a dtype the input can be combined with."""
    channels, dtype = input.size(1), input.dtype
    for name, tensor in zip(CHANNEL_TENSORS, tensors, strict=True):
        if tensor is None or (tensor.dtype == dtype and tensor.numel() == channels):
            continue
        if tensor.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {tensor.numel()}")
        if tensor.dtype != input.dtype and not (input.dtype in LOW_PRECISION and tensor.dtype == torch.float32):
            raise RuntimeError(
                "mixed dtype (CPU): all inputs must share same datatype. "
                f"{name} is {tensor.dtype} but input is {input.dtype}; half/bfloat16 inputs may use float32 ones"
            )
