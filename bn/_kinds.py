"""Which modules count as batch norm, shared by fold and convert."""

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from bn._base import BatchNormBase
from bn._batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d

# torch's plain classes and bn's drop-ins, by input rank; exact classes, so variants and subclasses are not in it.
TORCH_AND_BN: tuple[tuple[type[nn.Module], type[BatchNormBase]], ...] = (
    (nn.BatchNorm1d, BatchNorm1d),
    (nn.BatchNorm2d, BatchNorm2d),
    (nn.BatchNorm3d, BatchNorm3d),
)


def is_batchnorm(module: nn.Module) -> bool:
    """Any torch or bn batch norm, variants included: in eval mode each is an affine map per channel."""
    return isinstance(module, (_BatchNorm, BatchNormBase))
