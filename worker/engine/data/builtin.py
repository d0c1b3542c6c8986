"""The sets that need no files: mnist1d (generated once, then cached), scikit-learn's digits, spirals and blobs."""

import os
import random
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from contracts.datasets import DATASETS
from contracts.spec import DatasetSpec
from worker.engine.data.base import Split

MNIST1D_CACHE = "mnist1d.npz"
DIGITS_SEED, DIGITS_TEST = 0, 297
SYNTHETIC_TRAIN, SYNTHETIC_TEST = 3000, 1000
BLOB_CENTERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])


def load_mnist1d(spec: DatasetSpec, data_dir: Path) -> Split:
    """mnist1d's default split; generating it takes about a second, so it is cached in data_dir."""
    path = data_dir / MNIST1D_CACHE
    split = _read_mnist1d_cache(path)
    if split is None:
        split = _generate_mnist1d()
        _write_atomically(path, split)
    return split


def _read_mnist1d_cache(path: Path) -> Split | None:
    """The cached arrays, or None when the file is absent, torn or corrupt (then it is regenerated, not trusted)."""
    try:
        with np.load(path) as arrays:
            split = Split(*(arrays[key] for key in Split._fields))
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    shape = DATASETS["mnist1d"].input_shape
    pairs = ((split.train_x, split.train_y), (split.test_x, split.test_y))
    valid = all(x.shape[1:] == shape and x.dtype.kind == "f" and y.shape == (len(x),) for x, y in pairs)
    return split if valid else None


def _generate_mnist1d() -> Split:
    """The package's default arguments, generated offline (never its download)."""
    from mnist1d.data import get_dataset_args, make_dataset  # pulls in scipy and matplotlib: only when generating

    with _global_rngs_restored():
        data = make_dataset(get_dataset_args())
    shape = (-1, *DATASETS["mnist1d"].input_shape)
    return Split(data["x"].reshape(shape), data["y"], data["x_test"].reshape(shape), data["y_test"])


@contextmanager
def _global_rngs_restored() -> Iterator[None]:
    """mnist1d reseeds Python's and numpy's global RNGs; undo that so a cached and a fresh load leave the same state."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _write_atomically(path: Path, split: Split) -> None:
    """Write a temporary file then rename it, so a concurrent or interrupted writer never leaves a torn cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **split._asdict())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_digits(spec: DatasetSpec, data_dir: Path) -> Split:
    """scikit-learn's bundled 8x8 digits; a fixed permutation puts its last 297 images (~1/6) in the test set."""
    from sklearn.datasets import load_digits as sklearn_digits  # scikit-learn takes about a second to import

    bunch = sklearn_digits()
    order = np.random.default_rng(DIGITS_SEED).permutation(len(bunch.target))
    x, y = bunch.images[order][:, None], bunch.target[order]
    return Split(x[:-DIGITS_TEST], y[:-DIGITS_TEST], x[-DIGITS_TEST:], y[-DIGITS_TEST:])


def make_spirals(spec: DatasetSpec, data_dir: Path) -> Split:
    """Interleaved spiral arms, one per class (as in CS231n); `noise` jitters each point's angle, in radians."""

    def points(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
        radius = rng.uniform(0.0, 1.0, len(labels))
        angle = 4.0 * (labels + radius) + spec.noise * rng.standard_normal(len(labels))
        return radius[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)

    return _synthetic(spec, points)


def make_blobs(spec: DatasetSpec, data_dir: Path) -> Split:
    """Gaussian blobs centred on the corners (+-1, +-1), one per class; `noise` is their standard deviation."""

    def points(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
        return BLOB_CENTERS[labels] + spec.noise * rng.standard_normal((len(labels), 2))

    return _synthetic(spec, points)


def _synthetic(spec: DatasetSpec, points: Callable[[np.random.Generator, np.ndarray], np.ndarray]) -> Split:
    """Balanced, shuffled labels and their points from one generator seeded by `seed`, split 3000/1000."""
    rng = np.random.default_rng(spec.seed)
    total = SYNTHETIC_TRAIN + SYNTHETIC_TEST
    labels = rng.permutation(np.arange(total) % DATASETS[spec.name].num_classes)
    x = points(rng, labels)
    return Split(x[:SYNTHETIC_TRAIN], labels[:SYNTHETIC_TRAIN], x[SYNTHETIC_TRAIN:], labels[SYNTHETIC_TRAIN:])
