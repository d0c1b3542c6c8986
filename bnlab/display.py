"""What the command line draws with Rich: a progress bar of training steps with its newest metrics.

Progress goes to stderr and results to stdout, so `bnlab ... > file` keeps only the results. A console that is
not a terminal is given room enough that a line is never wrapped or cut.
"""

from collections.abc import Mapping

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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
    ) -> None:
        """Move the bar to `done` steps (of `total`) and show `metrics`; what is None stays as it was."""
        if not self.started:
            self.progress.start()
            self.started = True
        fields = {} if metrics is None else {"metrics": shown_metrics(metrics)}
        self.progress.update(self.task, completed=done, total=total, **fields)

    def close(self) -> None:
        """Draw the bar a last time (the only time when stderr is not a terminal) and stop refreshing it."""
        if self.started:
            self.progress.stop()
