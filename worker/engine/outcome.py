"""What a run measures once, after its last step: eval-mode training accuracy, whether it learned, inference cost."""

import math

from torch import nn

from contracts.spec import TrainingSpec
from worker.engine.data import Dataset
from worker.engine.inference import measure_inference
from worker.engine.metrics import evaluate
from worker.engine.summary import Summary

LEARNING_MARGIN = 0.1  # of the way from chance to a perfect score: below it a run learned nothing


def conclude(summary: Summary, model: nn.Module, data: Dataset, training: TrainingSpec) -> None:
    """Fill the end-of-run fields of a finite run; a diverged run has no meaningful weights to measure."""
    if summary.diverged:
        return
    train = evaluate(model, *data.first("train", training.eval_size))
    summary.final_train_acc = train.acc
    summary.final_train_loss = train.loss if math.isfinite(train.loss) else None  # the summary is stored as JSON
    summary.failed_to_learn = failed_to_learn(summary.final_acc, data.num_classes)
    if training.measure_inference:
        cost = measure_inference(model, data.first("test", training.eval_size)[0])
        summary.inference_us_per_example, summary.folded_inference_us_per_example, summary.fold_max_abs_diff = cost


def failed_to_learn(accuracy: float | None, num_classes: int) -> bool:
    """At most chance + LEARNING_MARGIN * (1 - chance); a run never evaluated (None) is not judged."""
    if accuracy is None:
        return False
    chance = 1 / num_classes
    return accuracy <= chance + LEARNING_MARGIN * (1 - chance)
