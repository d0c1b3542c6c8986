"""Wall and CPU time of the run: a stopwatch for both, and the per-step totals behind the summary's means."""

import time
from dataclasses import asdict, dataclass


class Stopwatch:
    """Wall (perf_counter) and process CPU (process_time) seconds since it started, plus what earlier runs spent."""

    def __init__(self, wall_before: float = 0.0, cpu_before: float = 0.0) -> None:
        self.wall, self.cpu = time.perf_counter() - wall_before, time.process_time() - cpu_before

    def elapsed(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds), each including the time given at the start."""
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


@dataclass
class StepTimes:
    """Wall and CPU seconds of every training step so far, evaluations excluded; checkpointed, so resumes add on."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    steps: int = 0

    def add(self, seconds: float, cpu_seconds: float) -> None:
        """Account one training step."""
        self.seconds += seconds
        self.cpu_seconds += cpu_seconds
        self.steps += 1

    def mean_ms(self) -> tuple[float | None, float | None]:
        """(wall, CPU) milliseconds per step; None before the first step."""
        if not self.steps:
            return None, None
        return 1e3 * self.seconds / self.steps, 1e3 * self.cpu_seconds / self.steps

    def state_dict(self) -> dict:
        return asdict(self)
