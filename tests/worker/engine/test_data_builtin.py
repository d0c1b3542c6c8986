"""The built-in sets (mnist1d, digits, spirals, blobs) and what load_dataset does for every set."""

import random

import numpy as np
import pytest
import torch

from contracts.datasets import DATASETS
from contracts.spec import DatasetSpec
from worker.engine.data import LOADERS, Dataset, DatasetError, load_dataset
from worker.engine.data.builtin import MNIST1D_CACHE, make_blobs

BUILTIN_SIZES = {"mnist1d": (4000, 1000), "digits": (1500, 297), "spirals": (3000, 1000), "blobs": (3000, 1000)}


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (population) std of each channel, or each feature for points."""
    per_channel = x.transpose(0, 1).reshape(x.shape[1], -1).double()
    return per_channel.mean(dim=1), per_channel.std(dim=1, unbiased=False)


def test_every_dataset_has_a_loader():
    assert set(LOADERS) == set(DATASETS)


@pytest.mark.parametrize("name", BUILTIN_SIZES)
def test_shapes_dtypes_classes(name, data_dir):
    data = load_dataset(DatasetSpec(name=name), data_dir)
    info = DATASETS[name]
    train, test = BUILTIN_SIZES[name]
    assert isinstance(data, Dataset)
    assert data.train_x.shape == (train, *info.input_shape) and data.test_x.shape == (test, *info.input_shape)
    assert data.train_y.shape == (train,) and data.test_y.shape == (test,)
    assert data.train_x.dtype == data.test_x.dtype == torch.float32
    assert data.train_y.dtype == data.test_y.dtype == torch.int64
    assert (data.num_classes, data.input_shape) == (info.num_classes, info.input_shape)
    assert set(data.train_y.tolist()) == set(range(info.num_classes))
    assert data.test_y.min() >= 0 and data.test_y.max() < info.num_classes


@pytest.mark.parametrize("name", BUILTIN_SIZES)
def test_standardized_by_train_statistics(name, data_dir):
    data = load_dataset(DatasetSpec(name=name), data_dir)
    mean, std = channel_stats(data.train_x)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
    assert torch.allclose(std, torch.ones_like(std), atol=1e-4)
    assert torch.isfinite(data.test_x).all()


@pytest.mark.parametrize("name", BUILTIN_SIZES)
def test_deterministic(name, data_dir):
    first, second = (load_dataset(DatasetSpec(name=name), data_dir) for _ in range(2))
    for field in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(first, field), getattr(second, field))


def test_mnist1d_second_load_reads_the_cache(data_dir, monkeypatch):
    import mnist1d.data

    assert (data_dir / MNIST1D_CACHE).is_file()
    monkeypatch.setattr(mnist1d.data, "make_dataset", lambda *args: pytest.fail("regenerated despite the cache"))
    assert load_dataset(DatasetSpec(name="mnist1d"), data_dir).train_x.shape == (4000, 1, 40)


def fake_mnist1d(args):
    """A tiny stand-in for make_dataset that, like it, reseeds the global RNGs."""
    random.seed(1)
    np.random.seed(1)
    y = np.arange(20) % 10
    return {"x": np.random.rand(20, 40), "y": y, "x_test": np.random.rand(10, 40), "y_test": y[:10]}


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_shape"])
def test_mnist1d_corrupt_cache_is_regenerated(damage, data_dir, tmp_path, monkeypatch):
    import mnist1d.data

    cache = tmp_path / MNIST1D_CACHE
    good = (data_dir / MNIST1D_CACHE).read_bytes()
    if damage == "wrong_shape":
        np.savez(cache, train_x=np.zeros((3, 40)), train_y=np.zeros(3), test_x=np.zeros((3, 40)), test_y=np.zeros(3))
    else:
        cache.write_bytes(b"not an npz file" if damage == "garbage" else good[: len(good) // 2])
    monkeypatch.setattr(mnist1d.data, "make_dataset", fake_mnist1d)
    data = load_dataset(DatasetSpec(name="mnist1d"), tmp_path)
    assert data.train_x.shape == (20, 1, 40) and data.test_x.shape == (10, 1, 40)
    monkeypatch.setattr(mnist1d.data, "make_dataset", lambda *args: pytest.fail("the rewritten cache was not used"))
    assert torch.equal(load_dataset(DatasetSpec(name="mnist1d"), tmp_path).train_x, data.train_x)
    assert [path.name for path in tmp_path.iterdir()] == [MNIST1D_CACHE]  # no temporary file left behind


def test_mnist1d_generation_leaves_global_rngs_alone(tmp_path, monkeypatch):
    import mnist1d.data

    monkeypatch.setattr(mnist1d.data, "make_dataset", fake_mnist1d)
    random.seed(7)
    np.random.seed(7)
    expected = (random.random(), np.random.rand())
    random.seed(7)
    np.random.seed(7)
    load_dataset(DatasetSpec(name="mnist1d"), tmp_path / "new" / "dir")
    assert (random.random(), np.random.rand()) == expected


def test_digits_split_is_a_permutation_of_sklearn_digits(data_dir):
    from sklearn.datasets import load_digits as sklearn_digits

    data = load_dataset(DatasetSpec(name="digits"), data_dir)
    labels = torch.cat([data.train_y, data.test_y])
    assert torch.equal(labels.bincount(), torch.from_numpy(sklearn_digits().target).bincount())


@pytest.mark.parametrize("name", ["spirals", "blobs"])
def test_synthetic_seed_and_noise_change_the_data(name, data_dir):
    base = load_dataset(DatasetSpec(name=name, seed=0), data_dir)
    for other in (DatasetSpec(name=name, seed=1), DatasetSpec(name=name, noise=0.5)):
        assert not torch.equal(base.train_x, load_dataset(other, data_dir).train_x)
    assert base.train_y.bincount().min() > 700  # balanced: 3000 examples over 3 or 4 classes


def test_blobs_without_noise_sit_on_their_centres(tmp_path):
    split = make_blobs(DatasetSpec(name="blobs", noise=0.0), tmp_path)
    assert np.array_equal(split.train_x, np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])[split.train_y])


@pytest.mark.parametrize("name", BUILTIN_SIZES)
def test_subset_is_a_prefix(name, data_dir):
    full = load_dataset(DatasetSpec(name=name), data_dir)
    small = load_dataset(DatasetSpec(name=name, train_size=50, test_size=20), data_dir)
    assert small.train_x.shape[0] == 50 and small.test_x.shape[0] == 20
    assert torch.equal(small.train_y, full.train_y[:50]) and torch.equal(small.test_y, full.test_y[:20])
    mean, std = channel_stats(small.train_x)  # statistics of the examples in use
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
    assert torch.allclose(std, torch.ones_like(std), atol=1e-4)


def test_single_example_is_centred_not_divided_by_zero(data_dir):
    data = load_dataset(DatasetSpec(name="spirals", train_size=1, test_size=1), data_dir)
    assert torch.equal(data.train_x, torch.zeros(1, 2)) and torch.isfinite(data.test_x).all()


@pytest.mark.parametrize(("field", "available"), [("train_size", 1500), ("test_size", 297)])
def test_subset_larger_than_available(field, available, data_dir):
    with pytest.raises(DatasetError, match=rf"dataset\.{field}=5000, but digits has only {available} "):
        load_dataset(DatasetSpec(name="digits", **{field: 5000}), data_dir)
