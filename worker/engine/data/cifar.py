"""CIFAR-10, binary version: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32)."""

from pathlib import Path

import numpy as np

from contracts.spec import DatasetSpec
from worker.engine.data.base import DatasetError, Split

IMAGE_SHAPE, NUM_CLASSES = (3, 32, 32), 10
RECORD = 1 + 3 * 32 * 32
SUBFOLDER = "cifar-10-batches-bin"
FORMAT = "CIFAR-10 binary records of 1 label byte (0-9) + 3072 pixel bytes (R, G, B planes of 32x32)"
SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-binary.tar.gz)"


def load_cifar10(spec: DatasetSpec, data_dir: Path) -> Split:
    """Every data_batch_*.bin for training and test_batch.bin, from data_dir/cifar10 or its cifar-10-batches-bin."""
    root = data_dir / "cifar10"
    folder = next((path for path in (root, root / SUBFOLDER) if (path / "test_batch.bin").is_file()), None)
    train_paths = sorted(folder.glob("data_batch_*.bin")) if folder else []
    if not train_paths:
        raise DatasetError(
            f"cifar10: expected data_batch_1.bin ... data_batch_5.bin (at least one) and test_batch.bin in {root} "
            f"or {root / SUBFOLDER}; get the binary version from {SOURCE} and extract it into {root}"
        )
    train = [_read_batch(path) for path in train_paths]
    test_x, test_y = _read_batch(folder / "test_batch.bin")
    return Split(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), test_x, test_y)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) and labels (N,) of one batch file, checked against the record format."""
    raw = path.read_bytes()
    if not raw or len(raw) % RECORD:
        raise DatasetError(f"{path}: {len(raw)} bytes is not a positive multiple of {RECORD}; expected {FORMAT}")
    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() >= NUM_CLASSES:
        raise DatasetError(f"{path}: label {labels.max()} is out of range; expected {FORMAT}")
    return records[:, 1:].reshape(-1, *IMAGE_SHAPE), labels
