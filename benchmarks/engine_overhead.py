"""Engine throughput with every metric on, against a bare PyTorch loop on the same model and data.

Same process, same spec, same number of steps: the bare loop does only forward, loss, backward
and the optimizer step; the engine adds evaluation, train/test metrics, gradient norms, timing and
(with --activations) activation quantiles. Prints examples/s of both and engine/bare (higher is
better; the goal is >= 0.90).
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from worker.engine import train
from worker.engine.data import load_dataset
from worker.engine.models import build_model
from worker.engine.optim import build_optimizer


def bare_loop(spec: JobSpec, data_dir: Path) -> float:
    """Examples/s of the minimal loop: shuffled batches, forward, cross-entropy, backward, step."""
    data = load_dataset(spec.dataset, data_dir)
    torch.manual_seed(spec.training.seed)
    model = build_model(spec)
    optimizer = build_optimizer(model, spec.optimizer)
    batch, steps = spec.training.batch_size, spec.training.steps
    per_epoch = len(data.train_x) // batch
    started = time.perf_counter()
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(data.train_x))
        index = order[(step % per_epoch) * batch : (step % per_epoch + 1) * batch]
        loss = nn.functional.cross_entropy(model(data.train_x[index]), data.train_y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - started)


def engine_loop(spec: JobSpec, data_dir: Path) -> float:
    """Examples/s of the engine's loop (its own wall time: data loading and model building excluded)."""
    summary = train(spec, data_dir=data_dir)
    return summary.steps_done * spec.training.batch_size / summary.wall_time_s


def spec_for(arch: str, activations: bool, steps: int) -> JobSpec:
    """The canonical spec (MLP) or its CNN variant, with metrics as requested."""
    raw = {**CANONICAL_EXAMPLE, "training": {**CANONICAL_EXAMPLE["training"], "steps": steps}}
    raw["training"]["track_activations"] = activations
    if arch == "cnn":
        raw["model"] = {**raw["model"], "arch": "cnn", "channels": [32, 32], "activation": "relu"}
        raw["model"]["init"] = {"scheme": "default"}
        raw["optimizer"] = {**raw["optimizer"], "lr": 0.05}
    return JobSpec.model_validate(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each (median taken)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        print(f"torch {torch.__version__}, 1 thread (the spec's default), {args.steps} steps per run")
        print(f"{'model':<6} {'activations':<12} {'bare ex/s':>10} {'engine ex/s':>12} {'engine/bare':>12}")
        for arch in ("mlp", "cnn"):
            for activations in (False, True):
                spec = spec_for(arch, activations, args.steps)
                torch.set_num_threads(spec.training.threads)
                bare, engine = [], []
                for _ in range(args.repeats):
                    bare.append(bare_loop(spec, Path(data_dir)))
                    engine.append(engine_loop(spec, Path(data_dir)))
                b, e = statistics.median(bare), statistics.median(engine)
                print(f"{arch:<6} {'on' if activations else 'off':<12} {b:10.0f} {e:12.0f} {e / b:12.2f}")


if __name__ == "__main__":
    main()
