"""How a run ended, as one serializable record (names as in docs/engine.md), and what each evaluation changes in it."""

from dataclasses import asdict, dataclass
from typing import Any

from worker.engine.metrics import Score


@dataclass
class Summary:
    """How the run ended; divergence and failing to learn are outcomes, not errors. Checkpointed, so plain values."""

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
    final_val_acc: float | None = None
    best_val_acc: float | None = None
    best_val_step: int | None = None
    test_acc_at_best_val: float | None = None
    final_train_acc: float | None = None
    final_train_loss: float | None = None
    failed_to_learn: bool = False
    cpu_time_s: float = 0.0
    train_step_ms: float | None = None
    train_step_cpu_ms: float | None = None
    inference_us_per_example: float | None = None
    folded_inference_us_per_example: float | None = None
    fold_max_abs_diff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def final_acc(self) -> float | None:
        """The accuracy the run is judged by: validation when examples are held out, else test."""
        return self.final_test_acc if self.final_val_acc is None else self.final_val_acc

    def record(self, step: int, test: Score, val: Score | None, target: float | None) -> None:
        """Final and best accuracies after the evaluation at `step`; the target counts by validation if there is one."""
        self.final_test_acc, self.final_test_loss = test.acc, test.loss
        self.best_test_acc = max(test.acc, self.best_test_acc or 0.0)
        if val is not None:
            self._record_val(step, val.acc, test.acc)
        selected = test.acc if val is None else val.acc
        if target is not None and self.steps_to_target is None and selected >= target:
            self.steps_to_target = step

    def _record_val(self, step: int, val_acc: float, test_acc: float) -> None:
        """The first evaluation with the highest validation accuracy is the one a study would have selected."""
        self.final_val_acc = val_acc
        if self.best_val_acc is None or val_acc > self.best_val_acc:
            self.best_val_acc, self.best_val_step, self.test_acc_at_best_val = val_acc, step, test_acc
