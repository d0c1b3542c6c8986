r"""Ghost batch norm (Hoffer et al. 2017, "Train longer, generalize better"), 1d and 2d.

In training the batch (N, C, *) is split along dim 0 into virtual batches of `virtual_batch_size`
samples, and each one is normalized with its own statistics, as if it were a small batch:

    y[k] = (x[k] - E[x[k]]) / sqrt(Var[x[k]] + eps) * gamma + beta,   x[k] = k-th virtual batch

The last virtual batch may be smaller; one with a single value per channel (a lone sample with no
spatial extent) joins the one before it, since its variance would be undefined. The running
statistics are updated once per virtual batch, in order, with `momentum` (the common
implementation): a batch of k virtual batches decays the old running values by (1 - momentum)^k.
Evaluation uses the whole batch, exactly like BatchNorm: the running statistics, or the batch's
own when `track_running_stats=False`.
"""

from torch import Tensor

from bn import _paths
from bn import functional as F
from bn._base import BatchNormBase
from bn._stats import values_per_channel


class _GhostBatchNorm(BatchNormBase):
    """Batch norm whose training statistics come from virtual batches of `virtual_batch_size` samples."""

    def __init__(
        self,
        num_features: int,
        virtual_batch_size: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        _check_virtual_batch_size(virtual_batch_size)
        if momentum is None:
            raise ValueError(
                "GhostBatchNorm updates the running statistics once per virtual batch and needs a float momentum "
                "in [0, 1] (e.g. 0.1); momentum=None (a cumulative average over batches) is not supported"
            )
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.virtual_batch_size = virtual_batch_size

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, virtual_batch_size={self.virtual_batch_size}"

    def _normalize(self, input, running_mean, running_var, use_batch_stats: bool, factor: float) -> Tensor:
        """Training: each virtual batch normalized (and averaged into the running stats) on its own."""
        if not self.training:
            return super()._normalize(input, running_mean, running_var, use_batch_stats, factor)
        F.check_batch_norm_args(input, running_mean, running_var, self.weight, self.bias, True, factor, self.eps)
        sizes = self._virtual_batch_sizes(input)
        weight, bias, eps = self.weight, self.bias, self.eps
        return _paths.train(input, weight, bias, running_mean, running_var, factor, eps, group_sizes=sizes)

    def _virtual_batch_sizes(self, input: Tensor) -> list[int]:
        """Samples per virtual batch along dim 0; a last one with one value per channel joins the previous."""
        full, rest = divmod(input.size(0), self.virtual_batch_size)
        sizes = [self.virtual_batch_size] * full + ([rest] if rest else [])
        values_per_sample = values_per_channel(input) // max(input.size(0), 1)
        if len(sizes) > 1 and rest * values_per_sample == 1:
            sizes[-2:] = [sizes[-2] + rest]
        return sizes


def _check_virtual_batch_size(virtual_batch_size) -> None:
    """A virtual batch needs at least two samples, or a 1d layer's per-channel variance is undefined."""
    if isinstance(virtual_batch_size, bool) or not isinstance(virtual_batch_size, int) or virtual_batch_size < 2:
        raise ValueError(
            f"virtual_batch_size must be an int >= 2 (the number of samples each virtual batch takes its "
            f"statistics over), but got {virtual_batch_size!r}; pass e.g. virtual_batch_size=32"
        )


class GhostBatchNorm1d(_GhostBatchNorm):
    r"""Ghost batch norm over (N, C) or (N, C, L) input, per channel C, statistics per virtual batch.

    y = (x - E_v[x]) / sqrt(Var_v[x] + eps) * gamma + beta, E_v/Var_v over the virtual batch of x's sample
    (and L); output has the input's shape.
    """

    _expected_dims = (2, 3)


class GhostBatchNorm2d(_GhostBatchNorm):
    r"""Ghost batch norm over (N, C, H, W) input, per channel C; statistics over a virtual batch's N, H and W.

    y = (x - E_v[x]) / sqrt(Var_v[x] + eps) * gamma + beta; output has the input's shape.
    """

    _expected_dims = (4,)
