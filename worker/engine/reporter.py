"""How the engine talks to whoever runs it: metric points out, stop requests and checkpoints across."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricPoint:
    """One value of one named series at one optimizer step (names as in docs/architecture.md, public contracts)."""

    name: str
    step: int
    value: float


class Reporter:
    """The engine's only window to the outside; the defaults do nothing, so a bare run needs none.

    The service's reporter writes points in batches and polls a cancel flag in the database; the
    command line's prints a progress bar and writes files. The engine knows neither.
    """

    def log(self, points: list[MetricPoint]) -> None:
        """A batch of points, all from one evaluation step."""

    def progress(self, step: int, total: int) -> None:
        """Called after every optimizer step."""

    def should_stop(self) -> bool:
        """Polled after every step; True ends the run as cancelled (the reporter may throttle its checks)."""
        return False

    def should_pause(self) -> bool:
        """Polled after every step; True checkpoints and ends the run as paused, to be resumed from that checkpoint."""
        return False

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Persist a resumable state (torch.save-able); training resumes bit-identically from it."""
