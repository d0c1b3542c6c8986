"""The training loop: spec in, metric history and summary out; deterministic and resumable."""

import math
from pathlib import Path

import torch
from torch import nn

from contracts.spec import JobSpec, TrainingSpec
from worker.engine.batches import BatchOrder
from worker.engine.data import load_dataset
from worker.engine.device import CPU, job_device
from worker.engine.evaluation import evaluation_points
from worker.engine.ics import Probe, weight_layers
from worker.engine.launch import COLLECTIVE_TIMEOUT_S, process_group
from worker.engine.models import build_model
from worker.engine.optim import build_optimizer, build_scheduler
from worker.engine.outcome import conclude
from worker.engine.ranks import Decision, Solo
from worker.engine.reporter import Reporter
from worker.engine.run import Run
from worker.engine.summary import Summary
from worker.engine.timing import Stopwatch

SOLO = Solo()


def train(
    spec: JobSpec,
    reporter: Reporter | None = None,
    data_dir: Path = Path("bnlab-data"),
    resume: dict | None = None,
    collective_timeout_s: float = COLLECTIVE_TIMEOUT_S,
) -> Summary:
    """Train `spec` to the end, a stop or pause request, the target (with early_stop) or divergence.

    With training.processes > 1 this process is rank 0 of the job's process group and starts the other ranks;
    a rank that dies or hangs past `collective_timeout_s` raises RankLost here.
    """
    reporter = reporter or Reporter()
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.training.threads)
    try:
        if spec.training.processes == 1:
            return train_rank(spec, Solo(job_device(spec.training.device)), reporter, data_dir, resume)
        with process_group(spec, data_dir, resume, collective_timeout_s) as group:
            return train_rank(spec, group, reporter, data_dir, resume)
    finally:
        torch.set_num_threads(threads)


def train_rank(spec: JobSpec, ranks: Solo, reporter: Reporter, data_dir: Path, resume: dict | None) -> Summary:
    """This rank's part of the run: every rank trains, rank 0 also evaluates, reports and concludes."""
    run = start_run(spec, data_dir, ranks.device)
    ranks.seed_own_stream(spec.training.seed)
    if resume is not None:
        run.load_state_dict(resume, ranks.rank)
    run.trained = ranks.wrap(run.model)
    loop(run, reporter, ranks)
    ranks.finish()
    if ranks.primary and run.summary.stop_reason != "paused":  # a paused run concludes when resumed and ended
        conclude(run.summary, run.model, run.data, spec.training)
    return run.summary


def start_run(spec: JobSpec, data_dir: Path, device: torch.device = CPU) -> Run:
    """Data, seeded model and optimizer on `device`: the state at step 0."""
    data = load_dataset(spec.dataset, data_dir, spec.training).to(device)
    torch.manual_seed(spec.training.seed)
    model = build_model(spec).to(device)
    optimizer = build_optimizer(model, spec.optimizer)
    scheduler = build_scheduler(optimizer, spec.schedule, spec.optimizer.lr, spec.training.steps)
    order = BatchOrder(len(data.train_x), spec.training.batch_size, spec.training.seed)
    params = sum(p.numel() for p in model.parameters())
    run = Run(spec, data, model, optimizer, scheduler, order, Summary(params=params), device=device)
    run.ics_layers = weight_layers(model) if spec.training.track_ics else []
    return run


def loop(run: Run, reporter: Reporter, ranks: Solo = SOLO) -> None:
    """Steps until done or rank 0 decides to stop; a checkpoint holds every rank's RNG state."""
    summary = run.summary
    clock = Stopwatch(summary.wall_time_s, summary.cpu_time_s)
    run.model.train()
    while run.step < run.spec.training.steps:
        if not train_step(run, ranks):
            break
        decision = ranks.agree(decide(run, reporter, clock) if ranks.primary else None)
        if decision.checkpoint:
            states = ranks.rng_states()
            if ranks.primary:
                reporter.save_checkpoint(run.step, run.state_dict(states))
        if decision.reason is not None:
            summary.stop_reason = decision.reason
            break
    summary.steps_done = run.step
    summary.wall_time_s, summary.cpu_time_s = clock.elapsed()
    summary.train_step_ms, summary.train_step_cpu_ms = run.step_times.mean_ms()


def decide(run: Run, reporter: Reporter, clock: Stopwatch) -> Decision:
    """Rank 0 after a step: report progress, evaluate when due, and decide whether to checkpoint and to stop."""
    training, summary = run.spec.training, run.summary
    reporter.progress(run.step, training.steps)
    if is_logged(training, run.step):
        points = evaluation_points(run)
        if summary.diverged:
            return Decision("diverged")
        reporter.log(points)
        if summary.steps_to_target is not None and training.early_stop:
            return Decision("target_reached")
    summary.wall_time_s, summary.cpu_time_s = clock.elapsed()
    due = bool(training.checkpoint_every) and run.step % training.checkpoint_every == 0
    if reporter.should_stop():
        return Decision("cancelled", due)
    if reporter.should_pause():
        return Decision("paused", True)
    return Decision(None, due)


def is_logged(training: TrainingSpec, step: int) -> bool:
    """Whether the evaluation after `step` (1-based) logs points: every eval_every steps and the last step."""
    return step % training.eval_every == 0 or step == training.steps


def train_step(run: Run, ranks: Solo = SOLO) -> bool:
    """One optimizer step on this rank's share of the batch; False (and the summary marked) if the batch's loss is no
    longer finite (every rank sees the same batch loss, so all stop together)."""
    watch = Stopwatch()
    index = ranks.share(run.order.next())
    x, y = run.data.train_x[index], run.data.train_y[index]
    probe = Probe(run.model, run.ics_layers) if run.ics_layers and is_logged(run.spec.training, run.step + 1) else None
    logits = run.trained(x)
    loss = nn.functional.cross_entropy(logits, y)
    loss_value, correct = ranks.batch_totals(loss, (logits.detach().argmax(1) == y).sum())
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
    times = watch.elapsed()
    run.window.add(loss_value, correct, len(y) * ranks.size, times, grad_norm, lr)
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
