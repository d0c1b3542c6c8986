"""CIFAR-10 from small binary batch files the tests write: layout, folders, and malformed files."""

import numpy as np
import pytest
import torch

from contracts.spec import DatasetSpec
from worker.engine.data import DatasetError, load_dataset
from worker.engine.data.cifar import SUBFOLDER, load_cifar10

BATCH_SIZES = {"data_batch_1.bin": 3, "data_batch_2.bin": 2, "test_batch.bin": 4}


def records(labels: np.ndarray, images: np.ndarray) -> bytes:
    """The binary layout: per image, its label byte then the R, G and B planes row by row."""
    return np.concatenate([labels[:, None], images.reshape(len(labels), -1)], axis=1).astype(np.uint8).tobytes()


def write_batches(folder, rng):
    """Random batches in `folder`; returns {file name: (images, labels)}."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, count in BATCH_SIZES.items():
        images = rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        (folder / name).write_bytes(records(labels, images))
        written[name] = images, labels
    return written


@pytest.mark.parametrize("subfolder", [False, True], ids=["flat", SUBFOLDER])
def test_round_trip_and_standardization(subfolder, tmp_path):
    folder = tmp_path / "cifar10" / SUBFOLDER if subfolder else tmp_path / "cifar10"
    written = write_batches(folder, np.random.default_rng(0))
    raw = load_cifar10(DatasetSpec(name="cifar10"), tmp_path)
    train = [written["data_batch_1.bin"], written["data_batch_2.bin"]]
    assert np.array_equal(raw.train_x, np.concatenate([images for images, _ in train]))
    assert np.array_equal(raw.train_y, np.concatenate([labels for _, labels in train]))
    assert np.array_equal(raw.test_x, written["test_batch.bin"][0])
    data = load_dataset(DatasetSpec(name="cifar10"), tmp_path)
    assert data.train_x.shape == (5, 3, 32, 32) and data.test_x.shape == (4, 3, 32, 32)
    assert data.train_x.dtype == torch.float32 and data.test_y.dtype == torch.int64
    assert torch.equal(data.test_y, torch.from_numpy(written["test_batch.bin"][1].astype(np.int64)))
    per_channel = data.train_x.transpose(0, 1).reshape(3, -1).double()
    assert torch.allclose(per_channel.mean(dim=1), torch.zeros(3, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(per_channel.std(dim=1, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-5)


def test_channels_are_the_rgb_planes(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    image = np.stack([np.full((32, 32), value) for value in (10, 20, 30)])[None]
    for name in ("data_batch_1.bin", "test_batch.bin"):
        (folder / name).write_bytes(records(np.array([7]), image))
    raw = load_cifar10(DatasetSpec(name="cifar10"), tmp_path)
    assert raw.train_x[0, :, 5, 9].tolist() == [10, 20, 30] and raw.train_y.tolist() == [7]


def test_subset_and_determinism(tmp_path):
    write_batches(tmp_path / "cifar10", np.random.default_rng(1))
    first, second = (load_dataset(DatasetSpec(name="cifar10", train_size=4, test_size=3), tmp_path) for _ in range(2))
    assert first.train_x.shape[0] == 4 and first.test_x.shape[0] == 3
    assert torch.equal(first.train_x, second.train_x) and torch.equal(first.test_x, second.test_x)
    with pytest.raises(DatasetError, match="has only 4 test examples"):
        load_dataset(DatasetSpec(name="cifar10", test_size=5), tmp_path)


@pytest.mark.parametrize("remove", ["test_batch.bin", "data_batch_*.bin", "everything"])
def test_missing_files_name_the_expected_paths(remove, tmp_path):
    folder = tmp_path / "cifar10"
    if remove != "everything":
        write_batches(folder, np.random.default_rng(0))
        for path in folder.glob(remove):
            path.unlink()
    with pytest.raises(DatasetError, match=r"data_batch_1\.bin .* test_batch\.bin") as error:
        load_dataset(DatasetSpec(name="cifar10"), tmp_path)
    assert str(folder) in str(error.value) and str(folder / SUBFOLDER) in str(error.value)


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("data_batch_2.bin", b"\0" * 3072, "3072 bytes is not a positive multiple of 3073"),
        ("test_batch.bin", b"", "0 bytes is not a positive multiple of 3073"),
        ("data_batch_1.bin", b"\x0a" + b"\0" * 3072, "label 10 is out of range"),
    ],
)
def test_malformed_batch_names_the_file_and_format(name, payload, message, tmp_path):
    folder = tmp_path / "cifar10"
    write_batches(folder, np.random.default_rng(0))
    (folder / name).write_bytes(payload)
    with pytest.raises(DatasetError, match=message) as error:
        load_dataset(DatasetSpec(name="cifar10"), tmp_path)
    assert str(folder / name) in str(error.value) and "1 label byte (0-9) + 3072 pixel bytes" in str(error.value)
