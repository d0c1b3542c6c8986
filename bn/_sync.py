"""SyncBatchNorm: batch norm whose statistics cover the batches of every rank of a process group."""

import torch
import torch.distributed as dist
from torch import Tensor, nn

from bn import _paths
from bn import functional as F
from bn._autograd import BatchNormFunction
from bn._base import BatchNormBase
from bn._kinds import TORCH_AND_BN
from bn._stats import merge_mean_var, values_per_channel

# Plain batch norms only: bn's variants (ghost, renorm) would silently lose their behaviour.
CONVERTIBLE = (nn.modules.batchnorm._BatchNorm, *(ours for _, ours in TORCH_AND_BN))


class SyncBatchNorm(BatchNormBase):
    r"""Batch norm over (N, C, *) input whose training statistics span all ranks of `process_group`.

    Rank r holds n_r = N_r * prod(*) values per channel, with mean m_r and biased variance v_r of
    shape (C,); N_r may differ between ranks and may be 0. The (n_r, m_r, v_r) are all-gathered and
    merged with Chan et al.'s parallel rule:
        n = sum_r n_r,   mean = sum_r n_r * m_r / n,   var = sum_r n_r * (v_r + (m_r - mean)^2) / n
    Each rank then normalizes its own slice, y = (x - mean) / sqrt(var + eps) * gamma + beta, with
    y of x's shape. Backward all-reduces sum(dy) and sum(dy * (x - mean)) over the group, so dx is
    the gradient of the whole global batch; dgamma and dbeta stay this rank's share (their sum over
    ranks is the global gradient, which DDP's gradient all-reduce provides). The running averages
    take the global mean and the unbiased global variance var * n / (n - 1). The counts travel in the
    statistics' dtype (float32 for float32/half inputs: exact up to 2**24 values per channel).

    Without an initialized process group, with a world size of 1, or in eval mode it is plain batch
    norm on the local batch, like torch.nn.SyncBatchNorm, which this mirrors (but it also runs on CPU).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        """Any rank from 2 up (one layer serves 1d, 2d and 3d models), with torch's messages."""
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def _normalize(self, input, running_mean, running_var, use_batch_stats: bool, factor: float) -> Tensor:
        """Global batch statistics when training across several ranks; plain local batch norm otherwise."""
        group = self._sync_group() if use_batch_stats and self.training else None
        if group is None:
            return super()._normalize(input, running_mean, running_var, use_batch_stats, factor)
        F.check_batch_norm_args(
            input, running_mean, running_var, self.weight, self.bias, True, factor, self.eps, check_batch_size=False
        )
        mean, var, count = global_mean_var(input, group)
        if count == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {input.size()} "
                "and 1 value per channel over the whole process group"
            )
        output, _, _ = BatchNormFunction.apply(input, self.weight, self.bias, mean, var, self.eps, count, group)
        _paths.update_running_stats(running_mean, running_var, mean, var, count, factor)
        return output

    def _sync_group(self):
        """The group to synchronize over, or None when there is no other rank to synchronize with."""
        if not (dist.is_available() and dist.is_initialized()):
            return None
        group = dist.group.WORLD if self.process_group is None else self.process_group
        return group if dist.get_world_size(group) > 1 else None

    @classmethod
    def convert_sync_batchnorm(cls, module: nn.Module, process_group=None) -> nn.Module:
        """Swap every plain BN (torch's or bn's) in `module` for a SyncBatchNorm sharing its state; returns the root."""
        output = _to_sync(cls, module, process_group) if isinstance(module, CONVERTIBLE) else module
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return output


def _to_sync(cls, module: nn.Module, process_group) -> SyncBatchNorm:
    """A SyncBatchNorm built on meta (no allocation) taking over `module`'s very tensors, so optimizers keep working."""
    sync = cls(
        module.num_features,
        module.eps,
        module.momentum,
        module.affine,
        module.track_running_stats,
        process_group,
        device="meta",
        bias=module.bias is not None,
    )
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        setattr(sync, name, getattr(module, name))
    sync.train(module.training)
    return sync


def global_mean_var(input: Tensor, group) -> tuple[Tensor, Tensor, int]:
    """Every rank's (count, mean, var) gathered and merged: the same global mean, biased var and count everywhere."""
    mean, var = _paths.batch_mean_var(input)
    count = torch.full((1,), values_per_channel(input), dtype=mean.dtype, device=mean.device)
    local = torch.cat([count, mean, var])
    gathered = [torch.empty_like(local) for _ in range(dist.get_world_size(group))]
    dist.all_gather(gathered, local, group=group)
    counts, means, variances = torch.stack(gathered).split([1, mean.numel(), mean.numel()], dim=1)
    global_mean, global_var, total = merge_mean_var(means, variances, counts.squeeze(1))
    return global_mean, global_var, round(total.item())
