"""Swap torch's BatchNorm1d/2d/3d for bn's (and back) in a module tree, keeping their state."""

from torch import nn

from bn._kinds import TORCH_AND_BN

__all__ = ["convert"]

_TARGETS = {"bn": dict(TORCH_AND_BN), "torch": {bn_class: torch_class for torch_class, bn_class in TORCH_AND_BN}}
# Everything a BN holds besides its hyperparameters: parameters of shape (C,), running buffers (C,) and a count ().
_STATE = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def convert(module: nn.Module, *, to: str = "bn") -> nn.Module:
    """Replace, in place, every torch.nn.BatchNorm{1,2,3}d by bn's (to="bn") or bn's by torch's (to="torch").

    Only those exact classes are swapped (subclasses and variants such as SyncBatchNorm stay). The new module
    holds the very same Parameter and buffer objects, so an optimizer built before still updates it, and the
    same eps, momentum, affine, track_running_stats and training flag; hooks are not carried over. A module
    registered under several names gets one replacement. Returns `module`, or its replacement if it is a BN.
    """
    if to not in _TARGETS:
        raise ValueError(f"to must be one of {sorted(_TARGETS)}, got {to!r}")
    classes = _TARGETS[to]
    found = [(name, child) for name, child in module.named_modules(remove_duplicate=False) if type(child) in classes]
    for name, child in found:
        _check_expressible(name, child, classes[type(child)])
    replacements = {id(child): _swap(child, classes[type(child)]) for _, child in found}
    for name, child in found:
        if name:
            module.set_submodule(name, replacements[id(child)])
    return replacements.get(id(module), module)


def _check_expressible(name: str, module: nn.Module, target: type[nn.Module]) -> None:
    """bn allows an affine BN without a bias; torch's classes do not. Checked before anything is swapped."""
    if module.affine and module.bias is None:
        where = f"{target.__module__}.{target.__name__}"
        raise ValueError(f"{name or 'the module'} is affine without a bias, which {where} cannot express")


def _swap(old: nn.Module, new_class: type[nn.Module]) -> nn.Module:
    """A `new_class` built on the meta device (nothing allocated) that then takes over `old`'s tensors."""
    new = new_class(old.num_features, old.eps, old.momentum, old.affine, old.track_running_stats, device="meta")
    for name in _STATE:
        setattr(new, name, getattr(old, name))
    return new.train(old.training)
