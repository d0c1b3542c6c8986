"""Datasets as tensors ready for training: load by spec, keep the requested prefix, hold out a validation set,
standardize by the statistics of the examples trained on."""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from contracts.datasets import DATASETS
from contracts.spec import DatasetSpec, TrainingSpec
from worker.engine.data.base import DatasetError, Split
from worker.engine.data.builtin import load_digits, load_mnist1d, make_blobs, make_spirals
from worker.engine.data.cifar import load_cifar10
from worker.engine.data.idx import load_idx

LOADERS: dict[str, Callable[[DatasetSpec, Path], Split]] = {
    "mnist1d": load_mnist1d,
    "digits": load_digits,
    "spirals": make_spirals,
    "blobs": make_blobs,
    "mnist": load_idx,
    "fashion_mnist": load_idx,
    "cifar10": load_cifar10,
}


@dataclass(frozen=True)
class Dataset:
    """Tensors ready for training: inputs float32 of shape (N, *DATASETS[name].input_shape), labels int64 (N,).

    The validation set is empty unless training.validation_split holds some training examples out.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    input_shape: tuple[int, ...]
    val_x: torch.Tensor
    val_y: torch.Tensor

    def to(self, device: torch.device) -> "Dataset":
        """The same data on `device` (itself when it is there already)."""
        tensors = ("train_x", "train_y", "test_x", "test_y", "val_x", "val_y")
        return replace(self, **{name: getattr(self, name).to(device) for name in tensors})

    def first(self, part: str, size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and labels of the first `size` (None: all) examples of the "train", "val" or "test" part."""
        return getattr(self, f"{part}_x")[:size], getattr(self, f"{part}_y")[:size]


def load_dataset(spec: DatasetSpec, data_dir: Path, training: TrainingSpec | None = None) -> Dataset:
    """The dataset of the spec, deterministic (bit-identical on every load); file-based sets are read from data_dir.

    With `training`, its validation_split holds out the last training examples as the validation set.
    """
    split = LOADERS[spec.name](spec, Path(data_dir))
    train_x, train_y = _first(spec, "train", split.train_x, split.train_y)
    test_x, test_y = _first(spec, "test", split.test_x, split.test_y)
    held = _held_out(len(train_x), training)
    (train_x, val_x), (train_y, val_y) = _cut(train_x, held), _cut(train_y, held)
    train_x, test_x, val_x = _standardize(train_x, test_x, val_x)
    info = DATASETS[spec.name]
    return Dataset(
        *map(torch.from_numpy, (train_x, train_y.astype(np.int64), test_x, test_y.astype(np.int64))),
        info.num_classes,
        info.input_shape,
        torch.from_numpy(val_x),
        torch.from_numpy(val_y.astype(np.int64)),
    )


def _held_out(size: int, training: TrainingSpec | None) -> int:
    """How many of the `size` training examples validation_split holds out; an error if none or too many."""
    if training is None or training.validation_split == 0:
        return 0
    fraction = training.validation_split
    held = math.floor(size * fraction + 0.5)
    if held == 0:
        raise DatasetError(
            f"training.validation_split={fraction} of {size} training examples holds out none: raise it "
            "(or dataset.train_size)"
        )
    if size - held < training.batch_size:
        raise DatasetError(
            f"training.validation_split={fraction} leaves {size - held} of {size} training examples, fewer than "
            f"training.batch_size={training.batch_size}: lower one of them"
        )
    return held


def _cut(array: np.ndarray, held: int) -> tuple[np.ndarray, np.ndarray]:
    """The first examples for training, the last `held` for validation."""
    return array[: len(array) - held], array[len(array) - held :]


def _first(spec: DatasetSpec, part: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first `<part>_size` examples, so a smaller run sees a prefix of the same data; more is an error."""
    size = getattr(spec, f"{part}_size")
    if size is not None and size > len(x):
        raise DatasetError(f"dataset.{part}_size={size}, but {spec.name} has only {len(x)} {part} examples: lower it")
    return x[:size], y[:size]


def _standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Zero mean, unit std per channel (per feature for points) from the train set alone, so no other data leaks in."""
    train, others = train.astype(np.float32), [other.astype(np.float32) for other in others]
    mean = train.mean(axis=(0, *range(2, train.ndim)), dtype=np.float64, keepdims=True)
    for array in (train, *others):
        array -= mean
    # Squares one channel at a time, summed in float64: accurate, and never a float64 copy of the whole set.
    variance = [np.square(channel).mean(dtype=np.float64) for channel in np.moveaxis(train, 1, 0)]
    std = np.sqrt(variance).reshape(mean.shape)
    std[std == 0] = 1.0  # a constant channel (e.g. a single example) is only centred
    for array in (train, *others):
        array /= std
    return train, *others


__all__ = ["Dataset", "DatasetError", "load_dataset"]
