"""What an evaluation logs (window averages, test and validation scores, activation quantiles, ICS) and records."""

import math

from worker.engine.metrics import Score, Window, activation_points, evaluate
from worker.engine.reporter import MetricPoint
from worker.engine.run import Run

PROBE_SIZE = 256


def evaluation_points(run: Run) -> list[MetricPoint]:
    """Training averages since the last evaluation, test (and validation) scores, activation quantiles, ICS;
    none if any is not finite."""
    spec, step = run.spec.training, run.step
    test = evaluate(run.model, *run.data.first("test", spec.eval_size))
    points = run.window.points(step) + score_points("test", test, step)
    val = evaluate(run.model, *run.data.first("val", spec.eval_size)) if spec.validation_split else None
    if val is not None:
        points += score_points("val", val, step)
    if spec.track_activations:
        points += activation_points(run.model, run.data.test_x[:PROBE_SIZE], step)
    points, run.ics_points = points + run.ics_points, []
    if not all(math.isfinite(point.value) for point in points):
        # A finite loss can still give an infinite gradient or overflow the weights: this step diverged.
        run.summary.diverged, run.summary.diverged_at_step, run.summary.stop_reason = True, step, "diverged"
        return []
    run.window = Window()
    run.summary.record(step, test, val, spec.target_accuracy)
    return points


def score_points(part: str, score: Score, step: int) -> list[MetricPoint]:
    """<part>_loss and <part>_acc at `step`."""
    return [MetricPoint(f"{part}_loss", step, score.loss), MetricPoint(f"{part}_acc", step, score.acc)]
