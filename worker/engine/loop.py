"""The training loop: spec in, metric history and summary out; deterministic and resumable."""

import math
from pathlib import Path

import torch
from torch import nn

from contracts.spec import JobSpec, TrainingSpec
from worker.engine.batches import BatchOrder
from worker.engine.data import load_dataset
from worker.engine.evaluation import evaluation_points
from worker.engine.ics import Probe, weight_layers
from worker.engine.models import build_model
from worker.engine.optim import build_optimizer, build_scheduler
from worker.engine.outcome import conclude
from worker.engine.reporter import Reporter
from worker.engine.run import Run
from worker.engine.summary import Summary
from worker.engine.timing import Stopwatch


def train(
    spec: JobSpec, reporter: Reporter | None = None, data_dir: Path = Path("bnlab-data"), resume: dict | None = None
) -> Summary:
    """Train `spec` to the end, a stop or pause request, the target (with early_stop) or divergence."""
    reporter = reporter or Reporter()
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.training.threads)
    try:
        run = start_run(spec, data_dir)
        if resume is not None:
            run.load_state_dict(resume)
        loop(run, reporter)
        if run.summary.stop_reason != "paused":  # a paused run concludes when it is resumed and ends
            conclude(run.summary, run.model, run.data, spec.training)
        return run.summary
    finally:
        torch.set_num_threads(threads)


def start_run(spec: JobSpec, data_dir: Path) -> Run:
    """Data, seeded model and optimizer: the state at step 0."""
    data = load_dataset(spec.dataset, data_dir, spec.training)
    torch.manual_seed(spec.training.seed)
    model = build_model(spec)
    optimizer = build_optimizer(model, spec.optimizer)
    scheduler = build_scheduler(optimizer, spec.schedule, spec.optimizer.lr, spec.training.steps)
    order = BatchOrder(len(data.train_x), spec.training.batch_size, spec.training.seed)
    params = sum(p.numel() for p in model.parameters())
    run = Run(spec, data, model, optimizer, scheduler, order, Summary(params=params))
    run.ics_layers = weight_layers(model) if spec.training.track_ics else []
    return run


def loop(run: Run, reporter: Reporter) -> None:
    """Steps until done; each evaluation logs one batch of points."""
    training, summary = run.spec.training, run.summary
    clock = Stopwatch(summary.wall_time_s, summary.cpu_time_s)
    run.model.train()
    while run.step < training.steps:
        if not train_step(run):
            break
        reporter.progress(run.step, training.steps)
        if is_logged(training, run.step):
            points = evaluation_points(run)
            if summary.diverged:
                break
            reporter.log(points)
            if summary.steps_to_target is not None and training.early_stop:
                summary.stop_reason = "target_reached"
                break
        summary.wall_time_s, summary.cpu_time_s = clock.elapsed()
        if training.checkpoint_every and run.step % training.checkpoint_every == 0:
            reporter.save_checkpoint(run.step, run.state_dict())
        if reporter.should_stop():
            summary.stop_reason = "cancelled"
            break
        if reporter.should_pause():
            reporter.save_checkpoint(run.step, run.state_dict())
            summary.stop_reason = "paused"
            break
    summary.steps_done = run.step
    summary.wall_time_s, summary.cpu_time_s = clock.elapsed()
    summary.train_step_ms, summary.train_step_cpu_ms = run.step_times.mean_ms()


def is_logged(training: TrainingSpec, step: int) -> bool:
    """Whether the evaluation after `step` (1-based) logs points: every eval_every steps and the last step."""
    return step % training.eval_every == 0 or step == training.steps


def train_step(run: Run) -> bool:
    """One optimizer step; False (and the summary marked) if the loss is no longer finite."""
    watch = Stopwatch()
    index = run.order.next()
    x, y = run.data.train_x[index], run.data.train_y[index]
    probe = Probe(run.model, run.ics_layers) if run.ics_layers and is_logged(run.spec.training, run.step + 1) else None
    logits = run.model(x)
    loss = nn.functional.cross_entropy(logits, y)
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        run.summary.diverged, run.summary.diverged_at_step = True, run.step + 1
        run.summary.stop_reason = "diverged"
        return False
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if probe is not None:
        probe.record()
    grad_norm = clip_and_measure(run)
    lr = run.optimizer.param_groups[0]["lr"]
    run.optimizer.step()
    run.scheduler.step()
    run.step += 1
    correct = (logits.detach().argmax(1) == y).sum().item()
    times = watch.elapsed()
    run.window.add(loss_value, correct, len(y), times, grad_norm, lr)
    run.step_times.add(*times)
    if probe is not None:
        run.ics_points = probe.points(x, y, run.step)
    return True


def clip_and_measure(run: Run) -> float | None:
    """The global gradient norm (before clipping), computed only when clipping or about to be logged."""
    training = run.spec.training
    if training.grad_clip is None and not is_logged(training, run.step + 1):
        return None
    return nn.utils.clip_grad_norm_(run.model.parameters(), training.grad_clip or math.inf).item()
