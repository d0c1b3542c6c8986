"""Datasets as tensors ready for training: load by spec, keep the requested prefix, standardize by train statistics."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from contracts.datasets import DATASETS
from contracts.spec import DatasetSpec
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
    """Tensors ready for training: inputs float32 of shape (N, *DATASETS[name].input_shape), labels int64 (N,)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    input_shape: tuple[int, ...]


def load_dataset(spec: DatasetSpec, data_dir: Path) -> Dataset:
    """The dataset of the spec, deterministic (bit-identical on every load); file-based sets are read from data_dir."""
    split = LOADERS[spec.name](spec, Path(data_dir))
    train_x, train_y = _first(spec, "train", split.train_x, split.train_y)
    test_x, test_y = _first(spec, "test", split.test_x, split.test_y)
    train_x, test_x = _standardize(train_x, test_x)
    info = DATASETS[spec.name]
    return Dataset(
        torch.from_numpy(train_x),
        torch.from_numpy(train_y.astype(np.int64)),
        torch.from_numpy(test_x),
        torch.from_numpy(test_y.astype(np.int64)),
        info.num_classes,
        info.input_shape,
    )


def _first(spec: DatasetSpec, part: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first `<part>_size` examples, so a smaller run sees a prefix of the same data; more is an error."""
    size = getattr(spec, f"{part}_size")
    if size is not None and size > len(x):
        raise DatasetError(f"dataset.{part}_size={size}, but {spec.name} has only {len(x)} {part} examples: lower it")
    return x[:size], y[:size]


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean, unit std per channel (per feature for points) from the train set alone, so no test data leaks in."""
    train, test = train.astype(np.float32), test.astype(np.float32)
    mean = train.mean(axis=(0, *range(2, train.ndim)), dtype=np.float64, keepdims=True)
    train -= mean
    test -= mean
    # Squares one channel at a time, summed in float64: accurate, and never a float64 copy of the whole set.
    variance = [np.square(channel).mean(dtype=np.float64) for channel in np.moveaxis(train, 1, 0)]
    std = np.sqrt(variance).reshape(mean.shape)
    std[std == 0] = 1.0  # a constant channel (e.g. a single example) is only centred
    train /= std
    test /= std
    return train, test


__all__ = ["Dataset", "DatasetError", "load_dataset"]
