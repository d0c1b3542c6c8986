"""training.measure_inference: CPU time per example of the eval-mode forward, unfolded and with BN folded."""

import pytest
import torch

from tests.worker.engine.conftest import Collector, assert_same_tensors, tiny_spec, unmeasured
from worker.engine import train
from worker.engine.inference import measure_inference
from worker.engine.models import build_model

INFERENCE = ("inference_us_per_example", "folded_inference_us_per_example", "fold_max_abs_diff")


@pytest.mark.parametrize(
    ("sections", "foldable"),
    [
        ({"model": {"norm": "batchnorm"}}, True),
        ({"model": {"norm": "torch_batchnorm"}}, True),
        ({"dataset": {"name": "digits"}, "model": {"arch": "cnn", "channels": [4, 8]}}, True),
        ({"dataset": {"name": "digits"}, "model": {"arch": "resnet", "stages": [4, 8], "blocks": 1}}, True),
        ({"model": {"norm": "batchnorm", "norm_options": {"position": "after"}}}, False),  # fed by the activation
        ({"model": {"norm": "layernorm"}}, False),
        ({"model": {"norm": "none"}}, False),
    ],
    ids=["batchnorm", "torch_batchnorm", "cnn", "resnet", "bn-after-activation", "layernorm", "none"],
)
def test_inference_cost_with_and_without_folding(data_dir, sections, foldable):
    spec = tiny_spec(**sections, training={"steps": 6, "batch_size": 16, "eval_size": 64, "measure_inference": True})
    summary = train(spec, Collector(), data_dir)
    assert summary.inference_us_per_example > 0
    if foldable:
        assert summary.folded_inference_us_per_example > 0 and 0 <= summary.fold_max_abs_diff < 1e-4
    else:
        assert (summary.folded_inference_us_per_example, summary.fold_max_abs_diff) == (None, None)


def test_off_by_default_and_for_a_diverged_run(data_dir):
    assert all(getattr(train(tiny_spec(), Collector(), data_dir), name) is None for name in INFERENCE)
    model, training = {"norm": "none", "activation": "identity"}, {"steps": 100, "measure_inference": True}
    diverged = train(tiny_spec(model=model, optimizer={"lr": 100}, training=training), Collector(), data_dir)
    assert diverged.diverged and all(getattr(diverged, name) is None for name in INFERENCE)


def test_measuring_leaves_the_model_its_mode_and_the_rng_alone():
    spec = tiny_spec(model={"dropout": 0.5})
    torch.manual_seed(0)
    model, x = build_model(spec).train(), torch.randn(50, 2)
    before, rng = {key: value.clone() for key, value in model.state_dict().items()}, torch.get_rng_state()
    cost = measure_inference(model, x)
    assert cost.us_per_example > 0 and cost.fold_max_abs_diff is not None
    assert model.training and torch.equal(torch.get_rng_state(), rng)
    assert_same_tensors(model.state_dict(), before)


def test_measuring_changes_nothing_else_in_the_run(data_dir):
    """Same points and summary (but the measured fields) as a run without it, dropout and BN included."""
    plain, measured = Collector(), Collector()
    first = train(tiny_spec(model={"dropout": 0.2}), plain, data_dir)
    second = train(tiny_spec(model={"dropout": 0.2}, training={"measure_inference": True}), measured, data_dir)
    assert plain.deterministic() == measured.deterministic()
    assert unmeasured(first.to_dict()) == unmeasured(second.to_dict()) | {"fold_max_abs_diff": None}
    assert second.fold_max_abs_diff is not None
