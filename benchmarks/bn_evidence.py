"""What batch norm changes, measured with the engine: the canonical spec with BN on and off, and MNIST-1D.

1. The canonical spec (sigmoid MLP, N(0, 1) init, SGD lr 0.5; Ioffe & Szegedy's Figure 1 setup on
   MNIST-1D) with norm batchnorm and none, three seeds each: test accuracy at steps 500, 1000, 3000.
2. Greydanus (2020)'s MNIST-1D settings (Adam lr 1e-2, batch 100, 8000 steps; reported test accuracy
   MLP 68%, CNN 94%) with and without BN.
"""

import argparse
import statistics
import tempfile
from pathlib import Path

from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from worker.engine import MetricPoint, Reporter, train


class Collect(Reporter):
    """Keeps test accuracy by step."""

    def __init__(self) -> None:
        self.test_acc: dict[int, float] = {}

    def log(self, points: list[MetricPoint]) -> None:
        self.test_acc |= {p.step: p.value for p in points if p.name == "test_acc"}


def run(raw: dict, data_dir: Path) -> tuple[Collect, dict]:
    """Train one spec, returning its accuracy curve and summary."""
    reporter = Collect()
    summary = train(JobSpec.model_validate(raw), reporter, data_dir)
    return reporter, summary.to_dict()


def canonical(norm: str, seed: int) -> dict:
    """The canonical spec with the norm switch and seed set."""
    return {
        **CANONICAL_EXAMPLE,
        "model": {**CANONICAL_EXAMPLE["model"], "norm": norm},
        "training": {**CANONICAL_EXAMPLE["training"], "seed": seed},
    }


def greydanus(arch: str, norm: str, seed: int) -> dict:
    """MNIST-1D reference settings: MLP 2x100 or a 3-layer 25-channel CNN, ReLU, Adam 1e-2, batch 100."""
    model = {"arch": "mlp", "hidden": [100, 100]} if arch == "mlp" else {"arch": "cnn", "channels": [25, 25, 25]}
    if arch == "cnn":
        model["kernel_size"] = 5
    return {
        "name": f"mnist1d-{arch}-{norm}",
        "model": {**model, "activation": "relu", "norm": norm},
        "optimizer": {"name": "adam", "lr": 1e-2},
        "training": {"steps": 8000, "batch_size": 100, "eval_every": 500, "seed": seed},
    }


def mean_sd(values: list[float]) -> str:
    """'mean ± sd' in percent."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):5.1f} ± {100 * sd:4.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        print("1. canonical spec (sigmoid MLP 100x3, N(0,1) init, SGD lr 0.5, batch 60), test accuracy %")
        print(f"{'norm':<10} {'step 500':>14} {'step 1000':>14} {'step 3000':>14} {'wall s':>8}")
        for norm in ("batchnorm", "none"):
            runs = [run(canonical(norm, seed), data_dir) for seed in range(args.seeds)]
            cells = [mean_sd([r.test_acc[step] for r, _ in runs]) for step in (500, 1000, 3000)]
            wall = statistics.mean(s["wall_time_s"] for _, s in runs)
            print(f"{norm:<10} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14} {wall:8.1f}")
        print("\n2. MNIST-1D reference settings (Adam 1e-2, batch 100, 8000 steps), test accuracy %")
        print(f"{'model':<6} {'paper':>6} {'norm':<10} {'final':>14} {'best':>14}")
        for arch, paper in (("mlp", 68), ("cnn", 94)):
            for norm in ("none", "batchnorm"):
                summaries = [run(greydanus(arch, norm, seed), data_dir)[1] for seed in range(args.seeds)]
                final = mean_sd([s["final_test_acc"] for s in summaries])
                best = mean_sd([s["best_test_acc"] for s in summaries])
                print(f"{arch:<6} {paper:>6} {norm:<10} {final:>14} {best:>14}")


if __name__ == "__main__":
    main()
