"""training.track_ics: internal covariate shift per weight layer, checked against a hand-made reference, and the
guarantee that measuring it leaves the training trajectory exactly as it was."""

import copy
import math

import pytest
import torch
from torch import nn

from tests.worker.engine.conftest import Collector, assert_same_tensors, tiny_spec
from worker.engine import train
from worker.engine.ics import Probe, weight_layers
from worker.engine.models import build_model

LR, SEED = 0.5, 123


def network(**model):
    """A seeded spirals MLP (BN and dropout unless told otherwise) in training mode."""
    torch.manual_seed(0)
    return build_model(tiny_spec(model={"dropout": 0.2, **model})).train()


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(32, 2, generator=generator), torch.randint(0, 3, (32,), generator=generator)


def engine_ics(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, tuple[float, float]]:
    """One SGD step on (x, y) as the loop takes it, with the probe around it."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    torch.manual_seed(SEED)
    probe = Probe(model, weight_layers(model))  # right before the forward, as in the loop
    nn.functional.cross_entropy(model(x), y).backward()
    probe.record()
    optimizer.step()
    return probe.measure(x, y)


def reference_ics(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[float, float]]:
    """By hand: for each weight W_i, a copy of the model before the step whose parameters listed before W_i
    (the layers below it, in this sequential net) took the SGD update; its gradient of W_i on the same batch
    with the same dropout masks is G'."""
    before = copy.deepcopy(model)
    gradients = _gradients(before, x, y)
    names = [name for name, _ in before.named_parameters()]
    result = []
    for index in (i for i, name in enumerate(names) if _is_weight(before, name)):
        shifted = copy.deepcopy(before)
        with torch.no_grad():
            for name, param in list(shifted.named_parameters())[:index]:
                param -= LR * gradients[name]
        g, h = gradients[names[index]].double(), _gradients(shifted, x, y)[names[index]].double()
        result.append(((g - h).norm().item(), (g.flatten() @ h.flatten() / (g.norm() * h.norm())).item()))
    return result


def _gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every parameter's gradient on (x, y) with the dropout masks of SEED, on a copy (buffers untouched)."""
    model = copy.deepcopy(model)
    torch.manual_seed(SEED)
    nn.functional.cross_entropy(model(x), y).backward()
    return {name: param.grad for name, param in model.named_parameters()}


def _is_weight(model: nn.Module, name: str) -> bool:
    module, _, kind = name.rpartition(".")
    return kind == "weight" and isinstance(model.get_submodule(module), (nn.Linear, nn.Conv1d, nn.Conv2d))


@pytest.mark.parametrize(
    "model",
    [{"hidden": [8, 8]}, {"hidden": [8, 8], "norm": "none"}, {"hidden": [8, 6, 4], "norm": "batch_renorm"}],
    ids=["batchnorm", "none", "renorm"],
)
def test_ics_matches_a_hand_computed_sgd_reference(model):
    x, y = batch()
    measured = engine_ics(network(**model), x, y)
    reference = reference_ics(network(**model), x, y)
    assert list(measured) == [f"h{index}" for index in range(1, len(model["hidden"]) + 1)] + ["out"]
    for (l2, cos), (expected_l2, expected_cos) in zip(measured.values(), reference, strict=True):
        assert l2 == pytest.approx(expected_l2, rel=1e-4, abs=1e-7)
        assert cos == pytest.approx(expected_cos, rel=1e-6)
    assert all(l2 > 0 for l2, _ in list(measured.values())[1:])


def test_the_first_layer_has_nothing_below_it():
    """G' of h1 is G recomputed: the same batch, buffers and dropout masks give the same gradient bit for bit."""
    x, y = batch()
    l2, cos = engine_ics(network(hidden=[8, 8]), x, y)["h1"]
    assert l2 == 0.0 and cos == pytest.approx(1.0)


def test_measuring_leaves_the_rng_and_the_buffers_as_it_found_them():
    """Whatever the RNG state when measure() runs (here another seed's), it is the same after; no buffer moves."""
    model, (x, y) = network(hidden=[8, 8]), batch()
    torch.manual_seed(SEED)
    probe = Probe(model, weight_layers(model))
    nn.functional.cross_entropy(model(x), y).backward()
    probe.record()
    torch.manual_seed(SEED + 1)
    rng, buffers = torch.get_rng_state(), {name: buffer.clone() for name, buffer in model.named_buffers()}
    probe.measure(x, y)
    assert torch.equal(torch.get_rng_state(), rng)
    assert_same_tensors(dict(model.named_buffers()), buffers)


def test_one_hidden_layer_below_the_head():
    x, y = batch()
    measured = engine_ics(network(hidden=[8]), x, y)
    assert list(measured) == ["h1", "out"]
    l2, cos = measured["out"]
    assert math.isfinite(l2) and l2 > 0 and -1 <= cos <= 1


def test_layers_of_a_cnn_are_named_by_the_site_they_feed():
    model = build_model(tiny_spec(dataset={"name": "digits"}, model={"arch": "cnn", "channels": [4, 8]}))
    assert [layer.name for layer in weight_layers(model)] == ["c1", "c2", "out"]


def test_resnet_layers_are_module_paths_and_a_projection_is_not_above_its_branch():
    """Branch and projection of a block feed the same site (its sum), so names are paths; the projection's input
    is the block's input, so the branch running beside it is not below it."""
    spec = tiny_spec(dataset={"name": "digits"}, model={"arch": "resnet", "stages": [4, 8], "blocks": 1})
    layers = {layer.name: layer for layer in weight_layers(build_model(spec))}
    assert list(layers) == [
        "body_0",
        "body_3_branch_0",
        "body_3_branch_3",
        "body_4_branch_0",
        "body_4_branch_3",
        "body_4_shortcut_0",
        "out",
    ]
    projection = layers["body_4_shortcut_0"].below
    assert "body.3.branch.3.weight" in projection and "body.1.weight" in projection  # the previous block, the stem BN
    assert not any(name.startswith("body.4.") for name in projection)
    assert layers["body_4_branch_3"].below >= {"body.4.branch.0.weight", "body.4.branch.1.weight"}
    assert layers["body_0"].below == frozenset()


@pytest.mark.parametrize(
    "sections",
    [
        {"model": {"dropout": 0.2, "norm": "batch_renorm", "norm_options": {"warmup": 30}}},
        {"model": {"dropout": 0.2}, "optimizer": {"name": "adam", "lr": 0.01}, "training": {"grad_clip": 0.5}},
        {"dataset": {"name": "digits"}, "model": {"arch": "resnet", "stages": [4, 8], "blocks": 1}},
    ],
    ids=["renorm-dropout", "adam-clip", "resnet"],
)
def test_tracking_ics_leaves_the_trajectory_bit_identical(data_dir, sections):
    sections = dict(sections)
    training = {"steps": 12, "batch_size": 16, "eval_every": 4, "checkpoint_every": 12, **sections.pop("training", {})}
    plain, tracked = Collector(), Collector()
    train(tiny_spec(**sections, training=training), plain, data_dir)
    train(tiny_spec(**sections, training={**training, "track_ics": True}), tracked, data_dir)
    ics = [point for point in tracked.points if point.name.startswith("ics/")]
    assert {point.step for point in ics} == {4, 8, 12}
    assert [point for point in tracked.deterministic() if not point[1].startswith("ics/")] == plain.deterministic()
    assert_same_tensors(tracked.checkpoint(12)["model"], plain.checkpoint(12)["model"])
    assert torch.equal(tracked.checkpoint(12)["torch_rng"], plain.checkpoint(12)["torch_rng"])
    assert all(math.isfinite(point.value) for point in ics)


def test_ics_points_at_every_evaluation(data_dir):
    collector = Collector()
    train(tiny_spec(model={"hidden": [8, 8]}, training={"steps": 12, "track_ics": True}), collector, data_dir)
    names = {f"ics/{layer}/{key}" for layer in ("h1", "h2", "out") for key in ("l2", "cos")}
    assert {point.name for point in collector.points if point.name.startswith("ics/")} == names
    assert collector.series("ics/h1/l2") == {5: 0.0, 10: 0.0, 12: 0.0}
    assert all(value > 0 for value in collector.series("ics/h2/l2").values())
