"""MNIST / Fashion-MNIST from IDX files the tests write: round trip, gzip, and every malformed case."""

import gzip
import struct

import numpy as np
import pytest
import torch

from contracts.spec import DatasetSpec
from worker.engine.data import DatasetError, load_dataset
from worker.engine.data.idx import load_idx

FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic 0x0000080<ndim>, big-endian sizes, the bytes."""
    return struct.pack(f">I{array.ndim}I", 0x800 + array.ndim, *array.shape) + array.astype(np.uint8).tobytes()


def write(path, payload: bytes, gz: bool):
    """Write a file, gzipped (with the .gz suffix) when asked; returns its path."""
    path = path.with_name(path.name + ".gz") if gz else path
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


@pytest.fixture
def arrays():
    """10 train and 5 test random 28x28 images with labels 0-9."""
    rng = np.random.default_rng(0)
    return {
        "train_x": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "train_y": np.arange(10, dtype=np.uint8),
        "test_x": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "test_y": np.array([9, 0, 3, 3, 7], dtype=np.uint8),
    }


def write_set(folder, arrays, gz=False, **overrides):
    """The four files in `folder`; `overrides` replaces a file's bytes (keyed like FILES). Returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return {key: write(folder / name, overrides.get(key, idx_bytes(arrays[key])), gz) for key, name in FILES.items()}


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
def test_round_trip(name, gz, arrays, tmp_path):
    write_set(tmp_path / name, arrays, gz)
    raw = load_idx(DatasetSpec(name=name), tmp_path)
    for key in FILES:
        expected = arrays[key][:, None] if key.endswith("x") else arrays[key]
        assert np.array_equal(getattr(raw, key), expected)
    data = load_dataset(DatasetSpec(name=name), tmp_path)
    assert data.train_x.shape == (10, 1, 28, 28) and data.test_x.shape == (5, 1, 28, 28)
    assert data.train_x.dtype == torch.float32 and data.train_y.dtype == torch.int64
    assert data.train_y.tolist() == list(range(10)) and data.test_y.tolist() == [9, 0, 3, 3, 7]
    assert abs(data.train_x.double().mean()) < 1e-6 and abs(data.train_x.double().std(unbiased=False) - 1) < 1e-5
    mean, std = arrays["train_x"].mean(dtype=np.float64), arrays["train_x"].std(dtype=np.float64)
    assert np.allclose(data.test_x.numpy()[:, 0], (arrays["test_x"] - mean) / std, atol=1e-5)  # train statistics


def test_plain_and_gzipped_files_mix(arrays, tmp_path):
    paths = write_set(tmp_path / "mnist", arrays)
    paths["test_x"].unlink()
    write(paths["test_x"], idx_bytes(arrays["test_x"]), gz=True)
    assert np.array_equal(load_idx(DatasetSpec(name="mnist"), tmp_path).test_x[:, 0], arrays["test_x"])


def test_subset(arrays, tmp_path):
    write_set(tmp_path / "mnist", arrays)
    data = load_dataset(DatasetSpec(name="mnist", train_size=4, test_size=2), tmp_path)
    assert data.train_y.tolist() == [0, 1, 2, 3] and data.test_y.tolist() == [9, 0]
    with pytest.raises(DatasetError, match="has only 10 train examples"):
        load_dataset(DatasetSpec(name="mnist", train_size=11), tmp_path)


def test_missing_files_name_every_expected_path(arrays, tmp_path):
    with pytest.raises(DatasetError) as error:
        load_dataset(DatasetSpec(name="fashion_mnist"), tmp_path)
    for name in FILES.values():
        assert str(tmp_path / "fashion_mnist" / name) in str(error.value)
    assert ".gz" in str(error.value) and "zalandoresearch" in str(error.value)


def test_one_missing_file_is_named(arrays, tmp_path):
    write_set(tmp_path / "mnist", arrays)["test_y"].unlink()
    with pytest.raises(DatasetError, match=r"missing [^,]*t10k-labels-idx1-ubyte \(each"):
        load_dataset(DatasetSpec(name="mnist"), tmp_path)


def header(magic: int, *sizes: int) -> bytes:
    """An IDX header with any magic number and sizes."""
    return struct.pack(f">I{len(sizes)}I", magic, *sizes)


CORRUPT = {
    "wrong magic": ("train_x", lambda a: header(0x00000801, 10, 28, 28) + a["train_x"].tobytes(), "magic number"),
    "labels as images": ("train_y", lambda a: idx_bytes(a["train_x"]), "magic number 0x00000803"),
    "truncated data": ("train_x", lambda a: idx_bytes(a["train_x"])[:-1], "truncated or corrupt"),
    "trailing bytes": ("test_y", lambda a: idx_bytes(a["test_y"]) + b"\0", "truncated or corrupt"),
    "short header": ("test_x", lambda a: header(0x00000803, 5), "too short for the header"),
    "count mismatch": ("train_y", lambda a: idx_bytes(a["train_y"][:9]), "holds 10 images but .* holds 9 labels"),
    "label out of range": ("test_y", lambda a: idx_bytes(np.array([0, 1, 10, 2, 3])), "label 10 is out of range"),
    "wrong image size": ("test_x", lambda a: idx_bytes(np.zeros((5, 27, 28))), r"shape \(5, 27, 28\)"),
    "no images": ("test_x", lambda a: header(0x00000803, 0, 28, 28), r"shape \(0, 28, 28\)"),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
@pytest.mark.parametrize("case", CORRUPT)
def test_corrupt_file_names_the_file(case, gz, arrays, tmp_path):
    key, payload, message = CORRUPT[case]
    if case == "no images":
        arrays["test_y"] = arrays["test_y"][:0]
    paths = write_set(tmp_path / "mnist", arrays, gz, **{key: payload(arrays)})
    with pytest.raises(DatasetError, match=message) as error:
        load_dataset(DatasetSpec(name="mnist"), tmp_path)
    assert str(paths[key]) in str(error.value)
    assert "expected IDX files" in str(error.value) or "expected an IDX file" in str(error.value)


@pytest.mark.parametrize("payload", [b"not gzip at all", gzip.compress(b"\0" * 100)[:-12]], ids=["garbage", "cut"])
def test_broken_gzip_names_the_file(payload, arrays, tmp_path):
    paths = write_set(tmp_path / "mnist", arrays, gz=True, train_x=b"")
    paths["train_x"].write_bytes(payload)
    with pytest.raises(DatasetError, match=r"cannot be read .*expected an IDX file") as error:
        load_dataset(DatasetSpec(name="mnist"), tmp_path)
    assert str(paths["train_x"]) in str(error.value)
