"""What a whole canonical job costs with bn's batch norm, with torch's, and with none: CPU time, same process.

The canonical spec (`bnlab spec example`: MLP 100-100-100, sigmoid, batch 60, 1 thread) trained by the
engine with model.norm `batchnorm` (bn), `torch_batchnorm` (torch.nn.BatchNorm1d) and `none`, each
run in turn `--repeats` times; prints the median CPU seconds, the ratio to torch_batchnorm (the
goal: batchnorm <= 1.15) and each run's final test accuracy, which bn and torch should share.
`--reference` adds bn on its tensor-op reference path (bn.kernels.reference_only), the cost before
the kernels.
"""

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from bn import kernels
from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from worker.engine import train

GOAL = 1.15


def spec_with(norm: str, steps: int) -> JobSpec:
    """The canonical spec with `norm` and `steps`."""
    raw = {**CANONICAL_EXAMPLE, "training": {**CANONICAL_EXAMPLE["training"], "steps": steps}}
    return JobSpec.model_validate({**raw, "model": {**raw["model"], "norm": norm}})


def cpu_seconds(spec: JobSpec, data_dir: Path, reference: bool) -> tuple[float, float | None]:
    """CPU seconds of one whole job (data loading, model building, training, evaluation) and its test accuracy."""
    context = kernels.reference_only() if reference else contextlib.nullcontext()
    with context:
        started = time.process_time()
        summary = train(spec, data_dir=data_dir)
    return time.process_time() - started, summary.final_test_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=CANONICAL_EXAMPLE["training"]["steps"])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, taken in turn (median)")
    parser.add_argument("--reference", action="store_true", help="add bn's tensor-op reference path")
    args = parser.parse_args()
    cases = {"batchnorm": ("batchnorm", False), "torch_batchnorm": ("torch_batchnorm", False), "none": ("none", False)}
    if args.reference:
        cases["batchnorm (reference)"] = ("batchnorm", True)
    with tempfile.TemporaryDirectory() as data_dir:
        cpu_seconds(spec_with("none", 10), Path(data_dir), False)  # builds the dataset cache and the kernels
        times = {name: [] for name in cases}
        accuracy = {}
        for _ in range(args.repeats):
            for name, (norm, reference) in cases.items():
                seconds, accuracy[name] = cpu_seconds(spec_with(norm, args.steps), Path(data_dir), reference)
                times[name].append(seconds)
    base = statistics.median(times["torch_batchnorm"])
    print(f"canonical job, {args.steps} steps, 1 thread, CPU s (median of {args.repeats}); bn kernels on")
    print(f"{'model.norm':<24} {'CPU s':>8} {'/torch_batchnorm':>17} {'test acc':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<24} {median:8.2f} {median / base:17.2f} {accuracy[name]:9.4f}")
    ratio = statistics.median(times["batchnorm"]) / base
    print(f"batchnorm / torch_batchnorm = {ratio:.2f} (goal <= {GOAL}: {'ok' if ratio <= GOAL else 'MISS'})")


if __name__ == "__main__":
    main()
