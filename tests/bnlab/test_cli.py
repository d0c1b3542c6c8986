"""The `bnlab` console command: spec example, local training into a folder, bad input, and resume after Ctrl-C."""

import csv
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from contracts.spec import CANONICAL_EXAMPLE
from tests.bnlab.conftest import BNLAB, bnlab
from tests.worker.engine.conftest import WALL_CLOCK, unmeasured

SMALL = {
    "dataset": {"name": "spirals"},
    "model": {"hidden": [8]},
    "training": {"steps": 30, "batch_size": 16, "eval_every": 10, "checkpoint_every": 10},
}
# Long enough (a few seconds) that Ctrl-C always lands mid-run, right after the first checkpoint.
LONG = {**SMALL, "training": {"steps": 2000, "batch_size": 16, "eval_every": 100, "checkpoint_every": 50}}


def write_spec(folder: Path, spec: dict) -> Path:
    """A spec file in `folder`."""
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def read_csv(path: Path) -> list[tuple[int, str, str]]:
    """metrics.csv's rows after checking the header."""
    with path.open(newline="") as file:
        header, *rows = csv.reader(file)
    assert header == ["step", "name", "value"]
    return [(int(step), name, value) for step, name, value in rows]


def deterministic(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """The rows that must repeat bit for bit: all but measured time."""
    return [row for row in rows if row[1] not in WALL_CLOCK]


def test_spec_example_prints_the_canonical_spec(env):
    result = bnlab("spec", "example", env=env, check=True)
    assert json.loads(result.stdout) == CANONICAL_EXAMPLE


def test_train_writes_metrics_and_prints_the_summary(tmp_path, env):
    out = tmp_path / "run"
    result = bnlab("train", write_spec(tmp_path, SMALL), "--out", out, env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary == json.loads((out / "summary.json").read_text())
    assert (summary["steps_done"], summary["stop_reason"], summary["diverged"]) == (30, "completed", False)
    rows = read_csv(out / "metrics.csv")
    assert {step for step, _, _ in rows} == {10, 20, 30}
    series = json.loads((out / "metrics.json").read_text())
    assert series["test_acc"][-1] == [30, summary["final_test_acc"]]
    assert sorted((step, name, repr(value)) for name, points in series.items() for step, value in points) == sorted(
        rows
    )


@pytest.mark.parametrize(
    ("spec", "field"),
    [({"model": {"hiden": [8]}}, "model.hiden"), ({"training": {"batch_size": 0}}, "training.batch_size")],
)
def test_a_bad_spec_fails_naming_the_field(tmp_path, env, spec, field):
    result = bnlab("train", write_spec(tmp_path, spec), "--out", tmp_path / "run", env=env)
    assert result.returncode != 0
    assert field in result.stderr and "Traceback" not in result.stderr


def test_a_missing_spec_file_points_to_spec_example(tmp_path, env):
    result = bnlab("train", tmp_path / "nowhere.json", env=env)
    assert result.returncode != 0
    assert "bnlab spec example" in result.stderr


def test_resume_after_ctrl_c_matches_an_uninterrupted_run(tmp_path, env):
    """Ctrl-C ends the first run as cancelled; --resume continues from its checkpoint with no duplicate points."""
    spec, out = write_spec(tmp_path, LONG), tmp_path / "run"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    process = subprocess.Popen([BNLAB, "train", spec, "--out", out], env=env, **pipes)
    while not (out / "checkpoint.pt").exists():
        assert process.poll() is None, "the run ended before writing a checkpoint"
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["stop_reason"] == "cancelled"

    resumed = bnlab("train", spec, "--out", out, "--resume", env=env)
    straight = bnlab("train", spec, "--out", tmp_path / "straight", env=env)
    assert resumed.returncode == straight.returncode == 0, resumed.stderr + straight.stderr
    rows = read_csv(out / "metrics.csv")
    assert len({(step, name) for step, name, _ in rows}) == len(rows)
    assert deterministic(rows) == deterministic(read_csv(tmp_path / "straight" / "metrics.csv"))
    assert unmeasured(json.loads(resumed.stdout)) == unmeasured(json.loads(straight.stdout))


def test_resume_of_a_finished_run_changes_nothing(tmp_path, env):
    spec, out = write_spec(tmp_path, SMALL), tmp_path / "run"
    first = bnlab("train", spec, "--out", out, env=env, check=True)
    rows = read_csv(out / "metrics.csv")
    again = bnlab("train", spec, "--out", out, "--resume", env=env, check=True)
    assert read_csv(out / "metrics.csv") == rows
    assert unmeasured(json.loads(again.stdout)) == unmeasured(json.loads(first.stdout))
