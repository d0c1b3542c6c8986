"""Where the time goes: CPU and wall time per training step (step_cpu_ms, train_step_*), the loop's CPU time."""

import time

import pytest

from tests.worker.engine.conftest import Collector, tiny_spec, unmeasured
from worker.engine import train
from worker.engine.metrics import Window
from worker.engine.timing import StepTimes, Stopwatch

STEPS, HALF = 20, 10


def test_stopwatch_counts_cpu_time_and_what_came_before():
    watch = Stopwatch(wall_before=2.0, cpu_before=3.0)
    cpu_deadline, wall_deadline = time.process_time() + 0.02, time.perf_counter() + 0.02
    # Burn CPU until both clocks moved 0.02 s: process time also counts other threads, so it may run ahead of wall time.
    while time.process_time() < cpu_deadline or time.perf_counter() < wall_deadline:
        pass
    wall, cpu = watch.elapsed()
    assert wall >= 2.02 and cpu >= 3.02


def test_window_reports_cpu_milliseconds_per_step():
    window = Window()
    window.add(1.0, 3, 4, (0.010, 0.006), None, 0.1)
    window.add(1.0, 3, 4, (0.030, 0.002), None, 0.1)
    values = {point.name: point.value for point in window.points(2)}
    assert values["step_cpu_ms"] == pytest.approx(4.0) and values["step_time_ms"] == pytest.approx(20.0)


def test_step_times_average_over_every_step():
    times = StepTimes()
    assert times.mean_ms() == (None, None)
    times.add(0.002, 0.001)
    times.add(0.004, 0.003)
    assert times.mean_ms() == pytest.approx((3.0, 2.0))


def test_a_run_reports_its_cpu_time(data_dir):
    collector = Collector()
    summary = train(tiny_spec(training={"steps": STEPS}), collector, data_dir)
    assert set(collector.series("step_cpu_ms")) == {5, 10, 15, 20}
    assert all(value > 0 for value in collector.series("step_cpu_ms").values())
    assert 0 < summary.train_step_ms * STEPS / 1e3 < summary.wall_time_s  # evaluations: in the loop, not the steps
    assert 0 < summary.train_step_cpu_ms * STEPS / 1e3 < summary.cpu_time_s


def test_resume_keeps_adding_cpu_time(data_dir):
    spec = tiny_spec(training={"steps": STEPS, "eval_every": 3, "checkpoint_every": HALF})  # a window mid-way
    halted = Collector(stop_after=HALF)
    train(spec, halted, data_dir)
    before = halted.checkpoint(HALF)
    assert before["step_times"]["steps"] == HALF and before["window"]["cpu_seconds"] > 0
    resumed = Collector()
    summary = train(spec, resumed, data_dir, resume=before)
    assert summary.cpu_time_s > before["summary"]["cpu_time_s"] > 0
    assert resumed.checkpoint(STEPS)["step_times"]["steps"] == STEPS  # the means cover the whole run


def test_a_checkpoint_from_before_cpu_time_and_the_new_fields_resumes(data_dir):
    """Its spec lacks validation_split, track_ics and measure_inference, its window cpu_seconds, and no step_times."""
    spec = tiny_spec(training={"steps": STEPS, "checkpoint_every": HALF})
    straight, halted = Collector(), Collector(stop_after=HALF)
    expected = train(spec, straight, data_dir)
    train(spec, halted, data_dir)
    old = halted.checkpoint(HALF)
    del old["step_times"], old["window"]["cpu_seconds"]
    for name in ("validation_split", "track_ics", "measure_inference"):
        del old["spec"]["training"][name]
    for name in ("cpu_time_s", "train_step_ms", "train_step_cpu_ms", "final_val_acc", "failed_to_learn"):
        del old["summary"][name]
    resumed = Collector()
    summary = train(spec, resumed, data_dir, resume=old)
    assert halted.deterministic() + resumed.deterministic() == straight.deterministic()
    assert unmeasured(summary.to_dict()) == unmeasured(expected.to_dict())
