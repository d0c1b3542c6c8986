"""`bnlab train`: run the engine in this process, with a progress bar and metrics written to a folder."""

import csv
import json
import signal
from pathlib import Path
from typing import Any

import torch

from bnlab.display import StepProgress
from bnlab.run_folder import CHECKPOINT, METRICS_CSV, METRICS_JSON, PARTIAL_CHECKPOINT, SPEC, SUMMARY
from contracts.spec import JobSpec
from worker.engine import MetricPoint, Reporter, Summary, train


class FolderReporter(Reporter):
    """Appends points to metrics.csv, keeps them for metrics.json, checkpoints to the folder; Ctrl-C stops."""

    def __init__(self, out: Path, total: int, resume_step: int = 0) -> None:
        self.out, self.points, self.stop_requested = out, _read_points(out / METRICS_CSV, resume_step), False
        _write_csv(out / METRICS_CSV, self.points)
        # the bar appears with the first step, not before data that may fail to load
        self.bar = StepProgress("train", total, resume_step)
        signal.signal(signal.SIGINT, self._request_stop)

    def _request_stop(self, *_: Any) -> None:
        """First Ctrl-C: finish the current step and end the run as cancelled, with its summary."""
        self.stop_requested = True

    def log(self, points: list[MetricPoint]) -> None:
        """An evaluation's points: appended to metrics.csv at once (a crash keeps them), the newest shown by the bar."""
        self.points += points
        with (self.out / METRICS_CSV).open("a", newline="") as file:
            csv.writer(file).writerows((p.step, p.name, repr(p.value)) for p in points)
        self.bar.update(metrics={p.name: p.value for p in points})

    def progress(self, step: int, total: int) -> None:
        """Each step moves the bar."""
        self.bar.update(done=step)

    def should_stop(self) -> bool:
        """The engine asks after every step, so Ctrl-C ends the run at the next one."""
        return self.stop_requested

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Written to a temporary file first, so a crash never leaves a half checkpoint behind."""
        partial = self.out / PARTIAL_CHECKPOINT
        torch.save(state, partial)
        partial.replace(self.out / CHECKPOINT)

    def finish(self, summary: Summary) -> None:
        """metrics.json (series by name) and summary.json next to metrics.csv."""
        series: dict[str, list[list[float]]] = {}
        for point in self.points:
            series.setdefault(point.name, []).append([point.step, point.value])
        (self.out / METRICS_JSON).write_text(json.dumps(series))
        (self.out / SUMMARY).write_text(json.dumps(summary.to_dict(), indent=2))


def _read_points(path: Path, up_to_step: int) -> list[MetricPoint]:
    """Points already written by an interrupted run, up to the step it is resumed from."""
    if not up_to_step or not path.exists():
        return []
    with path.open(newline="") as file:
        rows = list(csv.reader(file))[1:]
    return [MetricPoint(name, int(step), float(value)) for step, name, value in rows if int(step) <= up_to_step]


def _write_csv(path: Path, points: list[MetricPoint]) -> None:
    """Start metrics.csv with its header and the points kept from before."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "name", "value"])
        writer.writerows((p.step, p.name, repr(p.value)) for p in points)


def run_locally(spec: JobSpec, out: Path, data_dir: Path, resume: bool) -> Summary:
    """Train `spec`, resuming from out/checkpoint.pt when asked and present."""
    out.mkdir(parents=True, exist_ok=True)
    (out / SPEC).write_text(spec.model_dump_json(indent=2))
    state = torch.load(out / CHECKPOINT, weights_only=True) if resume and (out / CHECKPOINT).exists() else None
    reporter = FolderReporter(out, spec.training.steps, state["step"] if state else 0)
    try:
        summary = train(spec, reporter, data_dir, resume=state)
    finally:
        reporter.bar.close()
    reporter.finish(summary)
    return summary
