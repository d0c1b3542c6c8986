"""`bnlab train` never starts afresh over a finished run by accident: --force replaces it, --resume continues it."""

import json

from tests.bnlab.conftest import bnlab
from tests.bnlab.test_cli import SMALL, read_csv, write_spec

SHORTER = {**SMALL, "training": {"steps": 20, "batch_size": 16, "eval_every": 10}}  # and no checkpoints


def test_a_finished_run_is_not_replaced_without_force(tmp_path, env):
    spec, out = write_spec(tmp_path, SMALL), tmp_path / "run"
    assert bnlab("train", spec, "--out", out, env=env).returncode == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    again = bnlab("train", spec, "--out", out, env=env)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("error: ") and again.stderr.count("\n") == 1
    assert "--force" in again.stderr and "--resume" in again.stderr and str(out) in again.stderr
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_force_replaces_the_run_and_nothing_else(tmp_path, env):
    out = tmp_path / "run"
    assert bnlab("train", write_spec(tmp_path, SMALL), "--out", out, env=env).returncode == 0
    (out / "notes.txt").write_text("mine")
    forced = bnlab("train", write_spec(tmp_path, SHORTER), "--out", out, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["steps_done"] == 20 == json.loads((out / "summary.json").read_text())["steps_done"]
    assert {step for step, _, _ in read_csv(out / "metrics.csv")} == {10, 20}
    assert json.loads((out / "spec.json").read_text())["training"]["steps"] == 20
    assert not (out / "checkpoint.pt").exists()  # the old run's: this one makes none
    assert (out / "notes.txt").read_text() == "mine"


def test_force_and_resume_together_are_refused(tmp_path, env):
    result = bnlab("train", write_spec(tmp_path, SMALL), "--out", tmp_path / "run", "--force", "--resume", env=env)
    assert result.returncode == 1 and "only one of them" in result.stderr
    assert not (tmp_path / "run").exists()
