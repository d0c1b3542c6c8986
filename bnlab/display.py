"""What the command line draws with Rich: a progress bar of training steps with its newest metrics, and tables.

Progress goes to stderr and results to stdout, so `bnlab ... > file` keeps only the results. A console that is
not a terminal is given room enough that a table's ids and numbers are never wrapped or cut.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

SHOWN_METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")
PIPE_WIDTH = 240


def console(stderr: bool = False) -> Console:
    """A console on stdout (results) or stderr (progress), wide when its output goes to a file or a pipe."""
    screen = Console(stderr=stderr)
    if not screen.is_terminal:
        screen.width = PIPE_WIDTH
    return screen


def shown_metrics(metrics: Mapping[str, float]) -> str:
    """The metrics worth a glance while training, in a fixed order."""
    return "  ".join(f"{name} {metrics[name]:.4f}" for name in SHOWN_METRICS if name in metrics)


def cell(value: Any) -> str:
    """One value as a table shows it: floats to 4 significant digits, lists and objects as JSON, nothing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def timestamp(value: str | None) -> str:
    """An API time (ISO 8601, UTC) to the second, as tables show it."""
    return (value or "")[:19].replace("T", " ")


def table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], wrap: bool = False
) -> RenderableType:
    """A table of plain values under a title line of its own; cells wrap only when asked (prose), not ids, numbers."""
    drawn = Table()
    for column in columns:
        drawn.add_column(column, no_wrap=not wrap)
    for row in rows:
        drawn.add_row(*map(cell, row))
    return drawn if title is None else Group(Text(title, style="bold"), drawn)


class StepProgress:
    """A bar of training steps with the newest metrics beside it, on stderr; it appears with its first update."""

    def __init__(self, label: str, total: int | None, done: int = 0) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=console(stderr=True),
            redirect_stdout=False,  # stdout carries the results (a summary, a table), never the bar
        )
        self.task = self.progress.add_task(label, total=total, completed=done, metrics="")
        self.started = False

    def update(
        self,
        done: int | None = None,
        total: int | None = None,
        metrics: Mapping[str, float] | None = None,
        label: str | None = None,
    ) -> None:
        """Move the bar to `done` steps (of `total`), show `metrics` and `label`; what is None stays as it was."""
        if not self.started:
            self.progress.start()
            self.started = True
        fields = {} if metrics is None else {"metrics": shown_metrics(metrics)}
        self.progress.update(self.task, completed=done, total=total, description=label, **fields)

    def close(self) -> None:
        """Draw the bar a last time (the only time when stderr is not a terminal) and stop refreshing it."""
        if self.started:
            self.progress.stop()
