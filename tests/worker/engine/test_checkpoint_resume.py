"""Checkpoints: a run stopped halfway and resumed in a fresh process ends bit-identical to one never stopped."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.worker.engine.conftest import Collector, assert_same_tensors, tiny_spec, unmeasured
from worker.engine import train

ROOT = Path(__file__).resolve().parents[3]
STEPS, HALF = 20, 10
# Resumes a checkpoint file in a new interpreter: nothing (RNG, caches, BN buffers) carries over from this one.
RESUME = """
import sys, torch
from contracts.spec import JobSpec
from tests.worker.engine.conftest import Collector
from worker.engine import train

spec_file, checkpoint_file, data_dir, out_file = sys.argv[1:]
spec = JobSpec.model_validate_json(open(spec_file).read())
collector = Collector()
summary = train(spec, collector, data_dir, resume=torch.load(checkpoint_file, weights_only=True))
final = collector.checkpoint(spec.training.steps)
torch.save({"points": collector.deterministic(), "final": final, "summary": summary.to_dict()}, out_file)
"""


def resumable_spec(norm: str):
    """Dropout (RNG), BN (buffers), momentum (optimizer state), warm-up and cosine (schedule), a window mid-way."""
    return tiny_spec(
        model={"norm": norm, "dropout": 0.2, "norm_options": {"warmup": 30}},
        optimizer={"momentum": 0.9},
        schedule={"name": "cosine", "warmup_steps": 4},
        training={"steps": STEPS, "eval_every": 3, "checkpoint_every": HALF},
    )


@pytest.mark.parametrize("norm", ["batchnorm", "batch_renorm"])
def test_resume_in_a_fresh_process_is_bit_identical(tmp_path, data_dir, norm):
    spec = resumable_spec(norm)
    straight, halted = Collector(), Collector(stop_after=HALF)
    straight_summary = train(spec, straight, data_dir)
    halted_summary = train(spec, halted, data_dir)
    assert (halted_summary.stop_reason, halted_summary.steps_done, set(halted.checkpoints)) == (
        "cancelled",
        HALF,
        {HALF},
    )

    (tmp_path / "spec.json").write_text(spec.model_dump_json())
    (tmp_path / "checkpoint.pt").write_bytes(halted.checkpoints[HALF])
    files = [tmp_path / name for name in ("spec.json", "checkpoint.pt")]
    command = [sys.executable, "-c", RESUME, *map(str, files), str(data_dir), str(tmp_path / "out.pt")]
    subprocess.run(command, cwd=ROOT, check=True)
    resumed = torch.load(tmp_path / "out.pt", weights_only=True)

    assert halted.deterministic() + resumed["points"] == straight.deterministic()
    final = straight.checkpoint(STEPS)
    assert_same_tensors(resumed["final"]["model"], final["model"])
    assert torch.equal(resumed["final"]["torch_rng"], final["torch_rng"])
    assert unmeasured(resumed["summary"]) == unmeasured(straight_summary.to_dict())


def test_a_checkpoint_of_another_spec_is_refused(data_dir):
    collector = Collector()
    train(tiny_spec(training={"checkpoint_every": 10}), collector, data_dir)
    with pytest.raises(ValueError, match="another spec"):
        train(
            tiny_spec(training={"checkpoint_every": 10, "seed": 1}),
            Collector(),
            data_dir,
            resume=collector.checkpoint(),
        )


@pytest.mark.parametrize(
    "sections",
    [
        {"optimizer": {"name": "adam"}, "model": {"norm": "layernorm"}},
        {"optimizer": {"name": "adamw"}, "model": {"norm": "groupnorm", "norm_options": {"groups": 4}}},
        {"optimizer": {"name": "rmsprop", "momentum": 0.5}, "model": {"norm": "torch_batchnorm"}},
        {"model": {"norm": "ghost_batchnorm", "norm_options": {"virtual_batch_size": 8}}, "schedule": {"name": "step"}},
        {"dataset": {"name": "digits"}, "model": {"arch": "cnn", "channels": [4, 8]}},
        {"dataset": {"name": "digits"}, "model": {"arch": "resnet", "stages": [4, 8], "blocks": 1}},
    ],
    ids=["adam", "adamw", "rmsprop", "ghost-step", "cnn", "resnet"],
)
def test_every_kind_of_checkpoint_loads_weights_only_and_resumes(data_dir, sections):
    """The service loads checkpoints from the database with weights_only=True: no state may need pickled code."""
    spec = tiny_spec(**sections, training={"steps": STEPS, "checkpoint_every": HALF})
    straight, halted = Collector(), Collector(stop_after=HALF)
    train(spec, straight, data_dir)
    train(spec, halted, data_dir)
    resumed = Collector()
    train(spec, resumed, data_dir, resume=halted.checkpoint(HALF))  # Collector.checkpoint loads weights_only
    assert halted.deterministic() + resumed.deterministic() == straight.deterministic()


def test_a_run_with_validation_ics_and_inference_resumes_bit_identical(data_dir):
    """The new measurements keep resumes exact: validation and ICS points, the best-val bookkeeping, final_train_*."""
    training = {"validation_split": 0.2, "track_ics": True, "measure_inference": True, "eval_every": 3}
    spec = tiny_spec(model={"dropout": 0.2}, training={"steps": STEPS, "checkpoint_every": HALF, **training})
    straight, halted, resumed = Collector(), Collector(stop_after=HALF), Collector()
    expected = train(spec, straight, data_dir)
    train(spec, halted, data_dir)
    summary = train(spec, resumed, data_dir, resume=halted.checkpoint(HALF))
    assert halted.deterministic() + resumed.deterministic() == straight.deterministic()
    assert {"val_acc", "ics/h1/l2"} <= {name for _, name, _ in resumed.deterministic()}
    assert unmeasured(summary.to_dict()) == unmeasured(expected.to_dict())
    assert summary.best_val_step is not None and summary.final_train_acc is not None


def test_a_paused_run_checkpoints_where_it_paused_and_resumes_bit_identical(data_dir):
    """A worker that stops pauses its job between checkpoints: the pause saves its own, and nothing is concluded."""
    spec = resumable_spec("batchnorm")
    straight, paused, resumed = Collector(), Collector(pause_after=7), Collector()
    expected = train(spec, straight, data_dir)
    summary = train(spec, paused, data_dir)
    assert (summary.stop_reason, summary.steps_done, set(paused.checkpoints)) == ("paused", 7, {7})
    assert summary.final_train_acc is None  # measured once, at the end of the resumed run
    final = train(spec, resumed, data_dir, resume=paused.checkpoint(7))
    assert paused.deterministic() + resumed.deterministic() == straight.deterministic()
    assert unmeasured(final.to_dict()) == unmeasured(expected.to_dict())
