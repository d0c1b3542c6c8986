"""bn.SyncBatchNorm: gloo ranks on CPU against one process on the concatenated batch, fallbacks, conversion."""

import copy
import os
import zlib
from dataclasses import dataclass
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import bn
from bn import SyncBatchNorm
from bn._base import BatchNormBase
from tests.bn.conftest import PAIR_IDS, PAIRS, assert_same_state, make_pair, run_step
from tests.net import free_port

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
REFERENCE = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
STEPS = 2


@dataclass(frozen=True)
class Case:
    """A global batch of `shape` split along N into per-rank slices of `sizes` samples."""

    name: str
    shape: tuple[int, ...]
    sizes: tuple[int, ...]
    dtype: torch.dtype = torch.float64
    momentum: float | None = 0.1
    affine: bool = True

    def bounds(self, rank: int) -> slice:
        """The rows of the global batch that `rank` holds."""
        start = sum(self.sizes[:rank])
        return slice(start, start + self.sizes[rank])


CASES = {
    2: [
        Case("2D-unequal", (7, 3), (2, 5)),
        Case("4D-rank0-empty", (5, 3, 2, 3), (0, 5)),
        Case("3D-one-sample-f32-cumulative", (5, 4, 6), (1, 4), torch.float32, momentum=None),
    ],
    3: [
        Case("2D-unequal", (9, 3), (1, 3, 5)),
        Case("4D-rank1-empty", (6, 3, 2, 2), (2, 0, 4)),
        Case("5D-f32-no-affine", (5, 2, 2, 2, 3), (2, 2, 1), torch.float32, affine=False),
    ],
}


def case_data(case: Case, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch and output gradient of a step: the same on every rank and in the parent."""
    gen = torch.Generator().manual_seed(zlib.crc32(f"{case.name}/{len(case.sizes)}/{step}".encode()))
    x = torch.randn(case.shape, generator=gen, dtype=case.dtype) * 3 + 2
    return x, torch.randn(case.shape, generator=gen, dtype=case.dtype)


def make_layer(cls, case: Case) -> nn.Module:
    """A layer of `cls` with the case's settings and non-trivial affine parameters (same everywhere)."""
    layer = cls(case.shape[1], momentum=case.momentum, affine=case.affine, dtype=case.dtype)
    if case.affine:
        gen = torch.Generator().manual_seed(7)
        with torch.no_grad():
            layer.weight.copy_(torch.rand(case.shape[1], generator=gen, dtype=case.dtype) + 0.5)
            layer.bias.copy_(torch.randn(case.shape[1], generator=gen, dtype=case.dtype))
    return layer


def run_case(case: Case, rank: int) -> dict:
    """This rank's outputs, grads and buffers over the training steps, then one eval forward."""
    layer, rows = make_layer(SyncBatchNorm, case), case.bounds(rank)
    steps = []
    for step in range(STEPS):
        x, dy = case_data(case, step)
        out, grad_x = run_step(layer, x[rows], dy[rows])
        steps.append({"out": out, "grad_x": grad_x, "params": {n: p.grad.clone() for n, p in layer.named_parameters()}})
        layer.zero_grad()
    with torch.no_grad():
        evaluated = layer.eval()(case_data(case, 0)[0][rows])
    return {"steps": steps, "buffers": dict(layer.named_buffers()), "eval": evaluated}


def one_value_in_all_ranks(rank: int) -> str:
    """A single value per channel over the whole group: every rank raises, none is left waiting."""
    with pytest.raises(ValueError, match=r"^Expected more than 1 value per channel when training") as error:
        SyncBatchNorm(3)(torch.randn(1 if rank == 0 else 0, 3))
    return str(error.value)


def worker(rank: int, world_size: int, port: int, tmp_path) -> None:
    """One spawned rank: runs every case of its world size and saves the results for the parent."""
    init = f"tcp://127.0.0.1:{port}"
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world_size, timeout=timedelta(seconds=60))
    try:
        results = {case.name: run_case(case, rank) for case in CASES[world_size]}
        results["one value in all"] = one_value_in_all_ranks(rank)
        dist.barrier()  # no rank tears gloo down while another is still talking to it
    finally:
        dist.destroy_process_group()
    torch.save(results, tmp_path / f"rank{rank}.pt")
    # The results are on disk; skip interpreter teardown, where torch's C++ threads sometimes abort
    # ("terminate called without an active exception") after the group is already destroyed.
    os._exit(0)


def assert_close(actual, expected, dtype, msg):
    """Equal within the dtype's tolerance, naming what differs."""
    torch.testing.assert_close(
        actual, expected, atol=TOL[dtype], rtol=TOL[dtype], msg=lambda detail: f"{msg}: {detail}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_match_one_process_on_the_whole_batch(world_size, tmp_path):
    mp.spawn(worker, args=(world_size, free_port(), tmp_path), nprocs=world_size)
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(world_size)]
    for case in CASES[world_size]:
        results = [r[case.name] for r in ranks]
        ref = make_layer(REFERENCE[len(case.shape)], case)
        for step in range(STEPS):
            x, dy = case_data(case, step)
            out, grad_x = run_step(ref, x, dy)
            got = [r["steps"][step] for r in results]
            assert_close(torch.cat([g["out"] for g in got]), out, case.dtype, f"{case.name} out, step {step}")
            assert_close(torch.cat([g["grad_x"] for g in got]), grad_x, case.dtype, f"{case.name} dx, step {step}")
            for name, param in ref.named_parameters():
                summed = sum(g["params"][name] for g in got)
                assert_close(summed, param.grad, case.dtype, f"{case.name} {name}.grad summed, step {step}")
            ref.zero_grad()
        for rank, result in enumerate(results):
            for name, buffer in ref.named_buffers():
                assert_close(result["buffers"][name], buffer, case.dtype, f"{case.name} {name} on rank {rank}")
        ref.eval()
        expected = ref(case_data(case, 0)[0])
        assert_close(torch.cat([r["eval"] for r in results]), expected, case.dtype, f"{case.name} eval")
    assert all("1 value per channel over the whole process group" in r["one value in all"] for r in ranks)


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS, ids=PAIR_IDS)
def test_without_distributed_it_is_plain_batch_norm(ours, theirs, shape):
    sync, plain = make_pair(SyncBatchNorm, ours)
    for _ in range(STEPS):
        x, grad = torch.randn(shape) * 3 + 1, torch.randn(shape)
        assert_same_state(sync, plain, atol=0)
        y_sync, gx_sync = run_step(sync, x, grad)
        y_plain, gx_plain = run_step(plain, x, grad)
        assert torch.equal(y_sync, y_plain) and torch.equal(gx_sync, gx_plain)
    assert_same_state(sync, plain, atol=0)


def test_world_size_one_is_plain_batch_norm(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        sync, plain = make_pair(SyncBatchNorm, bn.BatchNorm2d)
        x, grad = torch.randn(4, 5, 3, 3), torch.randn(4, 5, 3, 3)
        y_sync, gx_sync = run_step(sync, x, grad)
        y_plain, gx_plain = run_step(plain, x, grad)
    finally:
        dist.destroy_process_group()
    assert torch.equal(y_sync, y_plain) and torch.equal(gx_sync, gx_plain)
    assert_same_state(sync, plain, atol=0)


@pytest.mark.parametrize("dims", [2, 3, 4, 5, 6])
def test_accepts_any_rank_from_two(dims):
    layer = make_pair(SyncBatchNorm, bn.BatchNorm1d, num_features=3)[0]
    x = torch.randn(4, 3, *[2] * (dims - 2))
    expected = nn.functional.batch_norm(x, torch.zeros(3), torch.ones(3), layer.weight, layer.bias, training=True)
    torch.testing.assert_close(layer(x), expected)


def test_eval_normalizes_with_running_stats():
    layer = make_pair(SyncBatchNorm, bn.BatchNorm2d)[0]
    with torch.no_grad():
        layer.running_mean.copy_(torch.randn(5))
        layer.running_var.copy_(torch.rand(5) + 0.5)
    state = copy.deepcopy(layer.state_dict())
    layer.eval()
    x = torch.randn(3, 5, 2, 2)
    view = (1, 5, 1, 1)
    expected = (x - state["running_mean"].view(view)) / torch.sqrt(state["running_var"].view(view) + layer.eps)
    torch.testing.assert_close(layer(x), expected * layer.weight.view(view) + layer.bias.view(view))
    for name, value in layer.state_dict().items():
        assert torch.equal(value, state[name]), name


def test_1d_input_raises_torchs_error():
    x = torch.randn(5)
    with pytest.raises(ValueError) as theirs:
        nn.SyncBatchNorm(5)(x)
    with pytest.raises(ValueError, match=r"^expected at least 2D input \(got 1D input\)$") as ours:
        SyncBatchNorm(5)(x)
    assert str(ours.value) == str(theirs.value)


class Net(nn.Module):
    """Batch norms of every convertible kind, nested in Sequentials, plus one already synchronized."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), bn.BatchNorm2d(4, momentum=None, bias=False)
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16, 6),
            bn.BatchNorm1d(6, affine=False),
            nn.BatchNorm1d(6, track_running_stats=False),
            nn.SyncBatchNorm(6, eps=1e-3),
            bn.BatchNorm1d(6, momentum=0.3).eval(),
        )
        self.synced = SyncBatchNorm(6)

    def forward(self, x):
        return self.synced(self.head(self.features(x)))


def bn_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every batch-norm layer by name, torch's and bn's."""
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.modules.batchnorm._BatchNorm, BatchNormBase))}


def test_convert_sync_batchnorm_keeps_state_in_a_nested_model():
    model = Net()
    for _ in range(2):
        model(torch.randn(4, 2, 4, 4))
    before, reference = bn_layers(model), copy.deepcopy(model)
    tensors = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    group = object()  # stored, never used: nothing here is distributed

    assert SyncBatchNorm.convert_sync_batchnorm(model, process_group=group) is model

    after = bn_layers(model)
    assert after.keys() == before.keys()
    assert after["synced"] is before["synced"]
    for name, layer in after.items():
        assert type(layer) is SyncBatchNorm, name
        old = before[name]
        for attr in ("num_features", "eps", "momentum", "affine", "track_running_stats", "training"):
            assert getattr(layer, attr) == getattr(old, attr), f"{name}.{attr}"
        assert (layer.bias is None) == (old.bias is None), name
        assert layer.process_group is (old.process_group if name == "synced" else group), name
    now = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    assert now.keys() == tensors.keys() and all(now[name] is tensor for name, tensor in tensors.items())
    assert model.state_dict().keys() == reference.state_dict().keys()
    x = torch.randn(4, 2, 4, 4)
    torch.testing.assert_close(model(x), reference(x))
    for (name, value), expected in zip(model.state_dict().items(), reference.state_dict().values(), strict=True):
        torch.testing.assert_close(value, expected, msg=name)


def test_convert_sync_batchnorm_replaces_a_root_batch_norm():
    for layer in (nn.BatchNorm1d(3), bn.BatchNorm3d(3)):
        sync = SyncBatchNorm.convert_sync_batchnorm(layer)
        assert type(sync) is SyncBatchNorm
        assert sync.weight is layer.weight and sync.bias is layer.bias
        assert sync.running_mean is layer.running_mean and sync.num_batches_tracked is layer.num_batches_tracked
