"""The training loop: spec in, metric history and summary out; deterministic and resumable."""

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from contracts.spec import JobSpec
from worker.engine.batches import BatchOrder
from worker.engine.data import Dataset, load_dataset
from worker.engine.metrics import Window, activation_points, evaluate
from worker.engine.models import build_model
from worker.engine.optim import build_optimizer, build_scheduler
from worker.engine.reporter import MetricPoint, Reporter

PROBE_SIZE = 256
CHECKPOINT_FORMAT = 1


@dataclass
class Summary:
    """How the run ended (names as in docs/architecture.md); divergence is an outcome, not an error."""

    final_test_acc: float | None = None
    best_test_acc: float | None = None
    final_test_loss: float | None = None
    steps_to_target: int | None = None
    wall_time_s: float = 0.0
    diverged: bool = False
    diverged_at_step: int | None = None
    params: int = 0
    steps_done: int = 0
    stop_reason: str = "completed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Run:
    """Everything that evolves during training, so that a checkpoint is just this, serialized."""

    spec: JobSpec
    data: Dataset
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    order: BatchOrder
    summary: Summary
    window: Window = field(default_factory=Window)
    step: int = 0

    def state_dict(self) -> dict[str, Any]:
        """A resumable snapshot: weights, optimizer, schedule, data order, RNG and metric accumulators."""
        return {
            "format": CHECKPOINT_FORMAT,
            "spec": self.spec.model_dump(mode="json"),
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "order": self.order.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "window": self.window.state_dict(),
            "summary": self.summary.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where state_dict left off (same spec required)."""
        if state.get("format") != CHECKPOINT_FORMAT or state["spec"] != self.spec.model_dump(mode="json"):
            raise ValueError("the checkpoint belongs to another spec or format; start the run afresh")
        self.step = state["step"]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.order.load_state_dict(state["order"])
        torch.set_rng_state(state["torch_rng"])
        self.window = Window(**state["window"])
        self.summary = Summary(**state["summary"])


def train(
    spec: JobSpec, reporter: Reporter | None = None, data_dir: Path = Path("bnlab-data"), resume: dict | None = None
) -> Summary:
    """Train `spec` to the end, a stop request, the target (with early_stop) or divergence."""
    reporter = reporter or Reporter()
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.training.threads)
    try:
        run = start_run(spec, data_dir)
        if resume is not None:
            run.load_state_dict(resume)
        loop(run, reporter)
        return run.summary
    finally:
        torch.set_num_threads(threads)


def start_run(spec: JobSpec, data_dir: Path) -> Run:
    """Data, seeded model and optimizer: the state at step 0."""
    data = load_dataset(spec.dataset, data_dir)
    torch.manual_seed(spec.training.seed)
    model = build_model(spec)
    optimizer = build_optimizer(model, spec.optimizer)
    scheduler = build_scheduler(optimizer, spec.schedule, spec.optimizer.lr, spec.training.steps)
    order = BatchOrder(len(data.train_x), spec.training.batch_size, spec.training.seed)
    params = sum(p.numel() for p in model.parameters())
    return Run(spec, data, model, optimizer, scheduler, order, Summary(params=params))


def loop(run: Run, reporter: Reporter) -> None:
    """Steps until done; each evaluation logs one batch of points."""
    training, started = run.spec.training, time.perf_counter() - run.summary.wall_time_s
    run.model.train()
    while run.step < training.steps:
        if not train_step(run):
            break
        reporter.progress(run.step, training.steps)
        if run.step % training.eval_every == 0 or run.step == training.steps:
            points = evaluation_points(run)
            if run.summary.diverged:
                break
            reporter.log(points)
            if run.summary.steps_to_target is not None and training.early_stop:
                run.summary.stop_reason = "target_reached"
                break
        run.summary.wall_time_s = time.perf_counter() - started
        if training.checkpoint_every and run.step % training.checkpoint_every == 0:
            reporter.save_checkpoint(run.step, run.state_dict())
        if reporter.should_stop():
            run.summary.stop_reason = "cancelled"
            break
    run.summary.steps_done = run.step
    run.summary.wall_time_s = time.perf_counter() - started


def train_step(run: Run) -> bool:
    """One optimizer step; False (and the summary marked) if the loss is no longer finite."""
    started = time.perf_counter()
    index = run.order.next()
    x, y = run.data.train_x[index], run.data.train_y[index]
    logits = run.model(x)
    loss = nn.functional.cross_entropy(logits, y)
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        run.summary.diverged, run.summary.diverged_at_step = True, run.step + 1
        run.summary.stop_reason = "diverged"
        return False
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = clip_and_measure(run)
    lr = run.optimizer.param_groups[0]["lr"]
    run.optimizer.step()
    run.scheduler.step()
    run.step += 1
    correct = (logits.detach().argmax(1) == y).sum().item()
    run.window.add(loss_value, correct, len(y), time.perf_counter() - started, grad_norm, lr)
    return True


def clip_and_measure(run: Run) -> float | None:
    """The global gradient norm (before clipping), computed only when clipping or about to be logged."""
    training, step = run.spec.training, run.step + 1
    logged = step % training.eval_every == 0 or step == training.steps
    if training.grad_clip is None and not logged:
        return None
    return nn.utils.clip_grad_norm_(run.model.parameters(), training.grad_clip or math.inf).item()


def evaluation_points(run: Run) -> list[MetricPoint]:
    """Training averages since the last evaluation, test loss/accuracy, activation quantiles; none if not finite."""
    spec, summary = run.spec.training, run.summary
    test_x, test_y = run.data.test_x[: spec.eval_size], run.data.test_y[: spec.eval_size]
    test_loss, test_acc = evaluate(run.model, test_x, test_y)
    points = run.window.points(run.step)
    points += [MetricPoint("test_loss", run.step, test_loss), MetricPoint("test_acc", run.step, test_acc)]
    if spec.track_activations:
        points += activation_points(run.model, run.data.test_x[:PROBE_SIZE], run.step)
    if not all(math.isfinite(point.value) for point in points):
        # A finite loss can still give an infinite gradient or overflow the weights: this step diverged.
        summary.diverged, summary.diverged_at_step, summary.stop_reason = True, run.step, "diverged"
        return []
    run.window = Window()
    summary.final_test_acc, summary.final_test_loss = test_acc, test_loss
    summary.best_test_acc = max(test_acc, summary.best_test_acc or 0.0)
    target = spec.target_accuracy
    if target is not None and summary.steps_to_target is None and test_acc >= target:
        summary.steps_to_target = run.step
    return points
