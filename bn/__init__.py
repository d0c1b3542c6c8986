"""bnlab's own batch normalization: a drop-in for torch.nn.BatchNorm*, plus its variants.

bn.BatchNorm1d/2d/3d and bn.functional.batch_norm mirror torch's (arguments, state_dict, errors);
SyncBatchNorm, GhostBatchNorm1d/2d and BatchRenorm1d/2d address BN's small- and split-batch
weaknesses; fold() removes BN for inference and convert() swaps torch's layers for bn's.
"""

from bn import functional
from bn._batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from bn._convert import convert
from bn._fold import fold
from bn._ghost import GhostBatchNorm1d, GhostBatchNorm2d
from bn._renorm import BatchRenorm1d, BatchRenorm2d
from bn._sync import SyncBatchNorm

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "BatchRenorm1d",
    "BatchRenorm2d",
    "GhostBatchNorm1d",
    "GhostBatchNorm2d",
    "SyncBatchNorm",
    "convert",
    "fold",
    "functional",
]
