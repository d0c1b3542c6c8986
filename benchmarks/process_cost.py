"""Time per training step of one job over 1 and 2 processes on the same global batch, in one run.

Each spec trains with training.processes 1 (batchnorm) and 2 (batchnorm, whose statistics stay per process, and
sync_batchnorm, which all-reduces them in every layer's forward and backward). Runs alternate; the median of the
repeats is printed: the wall time of the whole run over its steps (every per-step collective included: the
gradients' all-reduce, rank 0's decision broadcast) and rank 0's own training step, each with its ratio to
1 process. One evaluation at the end; each rank on 1 thread, so 2 processes use 2 cores where 1 uses one.
First it times a bare gloo all_reduce between 2 processes: the floor each collective of a step costs.
"""

import argparse
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from worker.engine import train

FLOOR_ROUNDS = 500
ARMS = [(1, "batchnorm"), (2, "batchnorm"), (2, "sync_batchnorm")]


@dataclass(frozen=True)
class Case:
    """A model and global batch to time: the canonical MLP, a wide one at a large batch, the CNN."""

    name: str
    model: dict
    batch_size: int


CASES = [
    Case("mlp 3x100, batch 60 (canonical)", {}, 60),
    Case("mlp 3x1024, batch 512", {"hidden": [1024, 1024, 1024]}, 512),
    Case("cnn 32-32, batch 64", {"arch": "cnn", "channels": [32, 32], "init": {"scheme": "default"}}, 64),
]


def spec_for(case: Case, processes: int, norm: str, steps: int) -> JobSpec:
    """The canonical spec with the case's model and batch, over `processes`, evaluated once at the end."""
    training = {**CANONICAL_EXAMPLE["training"], "steps": steps, "eval_every": steps, "batch_size": case.batch_size}
    raw = {**CANONICAL_EXAMPLE, "training": {**training, "processes": processes, "threads": 1}}
    raw["model"] = {**raw["model"], **case.model, "norm": norm}
    return JobSpec.model_validate(raw)


def _all_reduces(rank: int, port: int, result: "mp.SimpleQueue") -> None:
    """One rank of the floor: FLOOR_ROUNDS all_reduces of 100 floats after a warm-up; rank 0 reports ms each."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    values = torch.zeros(100)
    for _ in range(50):
        dist.all_reduce(values)
    watch = time.perf_counter()
    for _ in range(FLOOR_ROUNDS):
        dist.all_reduce(values)
    if rank == 0:
        result.put(1000 * (time.perf_counter() - watch) / FLOOR_ROUNDS)
    dist.destroy_process_group()


def collective_floor_ms() -> float:
    """The wall time of one small gloo all_reduce between 2 processes on this machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = mp.get_context("spawn").SimpleQueue()
    mp.spawn(_all_reduces, args=(port, result), nprocs=2)
    return result.get()


def timed(spec: JobSpec, data_dir: Path) -> tuple[float, float]:
    """(wall ms per step of the whole run, rank 0's mean training-step ms)."""
    summary = train(spec, data_dir=data_dir)
    return 1000 * summary.wall_time_s / summary.steps_done, summary.train_step_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each arm (median taken)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {args.steps} steps per run, median of {args.repeats}, 1 thread per process")
    print(f"one gloo all_reduce of 100 floats between 2 processes: {collective_floor_ms():.2f} ms")
    header = f"{'case':<32} {'processes':>9} {'norm':<15} {'ms/step':>8} {'ratio':>6} {'step ms':>8} {'ratio':>6}"
    with tempfile.TemporaryDirectory() as data_dir:
        print(header)
        for case in CASES:
            runs: dict[tuple[int, str], list[tuple[float, float]]] = {arm: [] for arm in ARMS}
            for _ in range(args.repeats):
                for processes, norm in ARMS:
                    runs[(processes, norm)].append(timed(spec_for(case, processes, norm, args.steps), Path(data_dir)))
            medians = {
                arm: [statistics.median(column) for column in zip(*found, strict=True)] for arm, found in runs.items()
            }
            wall_1, step_1 = medians[ARMS[0]]
            for (processes, norm), (wall, step) in medians.items():
                print(
                    f"{case.name:<32} {processes:>9} {norm:<15} {wall:8.2f} {wall / wall_1:6.2f} "
                    f"{step:8.2f} {step / step_1:6.2f}"
                )


if __name__ == "__main__":
    main()
