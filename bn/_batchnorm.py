"""BatchNorm1d/2d/3d: drop-in replacements for torch.nn.BatchNorm1d/2d/3d."""

from bn._base import BatchNormBase


class BatchNorm1d(BatchNormBase):
    r"""Batch norm over (N, C) or (N, C, L) input, per channel C.

    y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta; output has the input's shape.
    """

    _expected_dims = (2, 3)


class BatchNorm2d(BatchNormBase):
    r"""Batch norm over (N, C, H, W) input, per channel C; statistics over N, H and W.

    y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta; output has the input's shape and memory format.
    """

    _expected_dims = (4,)


class BatchNorm3d(BatchNormBase):
    r"""Batch norm over (N, C, D, H, W) input, per channel C; statistics over N, D, H and W.

    y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta; output has the input's shape and memory format.
    """

    _expected_dims = (5,)
