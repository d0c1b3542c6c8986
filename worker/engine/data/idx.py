"""MNIST and Fashion-MNIST from their four IDX files (plain or gzipped), every header checked."""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from contracts.spec import DatasetSpec
from worker.engine.data.base import DatasetError, Split

IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
IMAGE_SIZE, NUM_CLASSES = (28, 28), 10
PAIR_FORMAT = "expected IDX files of N>0 images (28x28 bytes, magic 0x00000803) and N labels (0-9, magic 0x00000801)"
TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SOURCES = {
    "mnist": "http://yann.lecun.com/exdb/mnist/ (or a mirror)",
    "fashion_mnist": "https://github.com/zalandoresearch/fashion-mnist",
}


def load_idx(spec: DatasetSpec, data_dir: Path) -> Split:
    """The four standard files of data_dir/<name>/; each may also be gzipped (<file>.gz)."""
    folder = data_dir / spec.name
    names = (*TRAIN_FILES, *TEST_FILES)
    paths = [_find(folder / name) for name in names]
    missing = [str(folder / name) for name, path in zip(names, paths, strict=True) if path is None]
    if missing:
        raise DatasetError(
            f"{spec.name}: missing {', '.join(missing)} (each may also be gzipped, ending in .gz); "
            f"get the four IDX files from {SOURCES[spec.name]} and put them in {folder}"
        )
    return Split(*_images_and_labels(*paths[:2]), *_images_and_labels(*paths[2:]))


def _find(path: Path) -> Path | None:
    """The plain file if present, else its gzipped form, else None."""
    return next((candidate for candidate in (path, path.with_name(path.name + ".gz")) if candidate.is_file()), None)


def _images_and_labels(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, 28, 28) and labels (N,), which must agree in count and hold classes 0-9."""
    images, labels = read_idx(images_path, IMAGES_MAGIC), read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != IMAGE_SIZE or not len(images):
        raise DatasetError(f"{images_path}: holds images of shape {images.shape}; {PAIR_FORMAT}")
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; {PAIR_FORMAT}"
        )
    if labels.max() >= NUM_CLASSES:
        raise DatasetError(f"{labels_path}: label {labels.max()} is out of range; {PAIR_FORMAT}")
    return images[:, None], labels


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file of unsigned bytes as an array shaped by its header; anything malformed names the file."""
    ndim = magic & 0xFF
    expected = f"expected an IDX file (optionally gzipped): magic 0x{magic:08X}, {ndim} big-endian uint32 sizes, bytes"
    raw = _read_bytes(path, expected)
    start = 4 * (1 + ndim)
    if len(raw) < start:
        raise DatasetError(f"{path}: {len(raw)} bytes is too short for the header; {expected}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DatasetError(f"{path}: magic number 0x{found:08X}; {expected}")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", ndim, offset=4))
    if len(raw) - start != math.prod(shape):
        raise DatasetError(
            f"{path}: the header announces shape {shape} ({math.prod(shape)} bytes) but {len(raw) - start} bytes "
            f"follow it (truncated or corrupt); {expected}"
        )
    return np.frombuffer(raw, np.uint8, offset=start).reshape(shape)


def _read_bytes(path: Path, expected: str) -> bytes:
    """The file's contents, decompressed when its name ends in .gz."""
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: cannot be read ({error}); {expected}") from error
