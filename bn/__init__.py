"""bnlab's own batch normalization: a drop-in for torch.nn.BatchNorm*, plus its variants."""

from bn import functional
from bn._batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "functional",
]
