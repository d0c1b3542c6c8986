"""build_model: the architectures count_params promises, their layers and order, sites, shapes, determinism."""

from typing import get_args

import pytest
import torch
from torch import nn

import bn
from contracts.datasets import DATASETS
from contracts.limits import count_params
from contracts.spec import CANONICAL_EXAMPLE, JobSpec, NormKind
from tests.worker.engine.test_norms import EXPECTED as NORM_LAYERS  # kind -> layer for spatial_dims 0, 1, 2
from worker.engine.models import build_model

NORMS = get_args(NormKind)
ARCH_DATASETS = [
    ("mlp", "spirals"),
    ("mlp", "mnist1d"),
    ("mlp", "digits"),
    ("cnn", "mnist1d"),
    ("cnn", "digits"),
    ("resnet", "mnist1d"),
    ("resnet", "digits"),
]
SMALL = {"mlp": {"hidden": [8, 12, 4]}, "cnn": {"channels": [4, 8, 8]}, "resnet": {"stages": [4, 8], "blocks": 2}}
ALL_NORM_TYPES = {layer for layers in NORM_LAYERS.values() for layer in layers} - {nn.Identity}


def make_spec(arch: str, dataset: str, norm_options: dict | None = None, **model) -> JobSpec:
    """A small, valid spec (groupnorm's 4 groups divide every small width)."""
    options = {"groups": 4, "virtual_batch_size": 4, **(norm_options or {})}
    return JobSpec(dataset={"name": dataset}, model={"arch": arch, **SMALL[arch], "norm_options": options, **model})


def trainable(model: nn.Module) -> int:
    """What count_params promises to count."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def norm_types(model: nn.Module) -> list[type]:
    """The norm layers in module order."""
    return [type(m) for m in model.modules() if type(m) in ALL_NORM_TYPES]


def run(model: nn.Module, dataset: str, batch: int = 8) -> torch.Tensor:
    """A forward pass on a random batch of the dataset's shape."""
    return model(torch.randn(batch, *DATASETS[dataset].input_shape))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(("arch", "dataset"), ARCH_DATASETS)
def test_params_match_count_params_and_forward_gives_logits(arch, dataset, norm, affine):
    spec = make_spec(arch, dataset, norm=norm, norm_options={"affine": affine})
    model = build_model(spec)
    assert trainable(model) == count_params(spec)
    assert run(model, dataset).shape == (8, DATASETS[dataset].num_classes)


@pytest.mark.parametrize(
    ("arch", "dataset", "model"),
    [
        ("mlp", "blobs", {"hidden": [3]}),
        ("cnn", "digits", {"kernel_size": 4, "pool": "avg"}),
        ("cnn", "mnist1d", {"kernel_size": 7, "pool": "none", "dropout": 0.2}),
        ("cnn", "mnist1d", {"channels": [4] * 8}),
        ("resnet", "digits", {"stages": [4, 8, 12, 16], "blocks": 1}),
        ("resnet", "mnist1d", {"stages": [8, 4, 4], "blocks": 3, "dropout": 0.5}),
    ],
)
def test_params_match_count_params_for_other_shapes(arch, dataset, model):
    spec = make_spec(arch, dataset, **model)
    network = build_model(spec)
    assert trainable(network) == count_params(spec)
    assert run(network, dataset).shape == (8, DATASETS[dataset].num_classes)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(("arch", "dataset"), [("mlp", "digits"), ("cnn", "mnist1d"), ("cnn", "digits")])
def test_norm_kind_gives_its_layer_class(arch, dataset, norm):
    spec = make_spec(arch, dataset, norm=norm)
    spatial_dims = 0 if arch == "mlp" else len(DATASETS[dataset].input_shape) - 1
    layers = [NORM_LAYERS[norm][spatial_dims]] * len(spec.model.widths())
    assert norm_types(build_model(spec)) == ([] if norm == "none" else layers)


def test_resnet_norms_sit_in_stem_blocks_and_projections():
    model = build_model(make_spec("resnet", "digits", norm="batch_renorm"))
    # stem, 2 per block x 4 blocks, one projection
    assert norm_types(model) == [bn.BatchRenorm2d] * 10


def test_norm_options_reach_the_layers():
    model = build_model(make_spec("cnn", "digits", norm="ghost_batchnorm", norm_options={"virtual_batch_size": 6}))
    assert {m.virtual_batch_size for m in model.modules() if isinstance(m, bn.GhostBatchNorm2d)} == {6}
    model = build_model(make_spec("mlp", "spirals", norm="batch_renorm", norm_options={"rmax": 2.0, "warmup": 7}))
    assert {(m.rmax, m.warmup) for m in model.modules() if isinstance(m, bn.BatchRenorm1d)} == {(2.0, 7)}


@pytest.mark.parametrize(
    ("position", "expected"), [("before", (bn.BatchNorm1d, nn.Tanh)), ("after", (nn.Tanh, bn.BatchNorm1d))]
)
def test_position_orders_norm_and_activation(position, expected):
    options = {"position": position}
    mlp = build_model(make_spec("mlp", "spirals", activation="tanh", norm_options=options))
    assert [type(m) for m in mlp.body] == [nn.Flatten, *[nn.Linear, *expected] * 3]
    cnn = build_model(make_spec("cnn", "mnist1d", activation="tanh", norm_options=options))
    assert [type(m) for m in cnn.body[1:3]] == list(expected)
    resnet = build_model(make_spec("resnet", "mnist1d", activation="tanh", norm_options=options))
    assert [type(m) for m in resnet.body[1:3]] == list(expected)
    block = resnet.body[3].branch
    assert [type(m) for m in block] == [nn.Conv1d, *expected, nn.Conv1d, bn.BatchNorm1d]


@pytest.mark.parametrize(
    ("arch", "dataset", "per_model"), [("mlp", "digits", 3), ("cnn", "digits", 3), ("resnet", "digits", 1)]
)
def test_dropout_present_iff_positive(arch, dataset, per_model):
    assert not any(isinstance(m, nn.Dropout) for m in build_model(make_spec(arch, dataset)).modules())
    dropouts = [m for m in build_model(make_spec(arch, dataset, dropout=0.3)).modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == per_model and all(m.p == 0.3 for m in dropouts)


SITE_NAMES = {
    "mlp": ["h1", "h2", "h3"],
    "cnn": ["c1", "c2", "c3"],
    "resnet": ["stem", "s1b1a", "s1b1b", "s1b2a", "s1b2b", "s2b1a", "s2b1b", "s2b2a", "s2b2b"],
}


@pytest.mark.parametrize(("arch", "dataset"), [("mlp", "mnist1d"), ("cnn", "digits"), ("resnet", "mnist1d")])
def test_each_site_is_its_own_activation_and_its_hook_sees_one_tensor(arch, dataset):
    model = build_model(make_spec(arch, dataset, activation="gelu"))
    names = [name for name, _ in model.activation_sites]
    assert names == SITE_NAMES[arch]
    modules = [module for _, module in model.activation_sites]
    assert all(type(m) is nn.GELU for m in modules) and len({id(m) for m in modules}) == len(modules)
    seen = {name: [] for name in names}
    for name, module in model.activation_sites:
        module.register_forward_hook(lambda _m, inputs, _out, name=name: seen[name].append(inputs[0]))
    run(model, dataset)
    assert all(len(tensors) == 1 and isinstance(tensors[0], torch.Tensor) for tensors in seen.values())


def test_site_input_is_the_normalized_pre_activation():
    model = build_model(JobSpec(**CANONICAL_EXAMPLE))
    seen = []
    model.activation_sites[0][1].register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0]))
    run(model, "mnist1d", batch=64)
    torch.testing.assert_close(seen[0].mean(0), torch.zeros(100), atol=1e-5, rtol=0)
    torch.testing.assert_close(seen[0].std(0, unbiased=False), torch.ones(100), atol=1e-3, rtol=0)


ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "identity": nn.Identity,
}


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_kind_gives_its_module(activation):
    sites = build_model(make_spec("mlp", "spirals", activation=activation)).activation_sites
    assert all(type(m) is ACTIVATIONS[activation] for _, m in sites)
    if activation == "leaky_relu":
        assert all(m.negative_slope == 0.01 for _, m in sites)


def test_deep_cnn_on_small_input_stops_pooling():
    model = build_model(make_spec("cnn", "mnist1d", channels=[4] * 8))
    assert sum(isinstance(m, nn.MaxPool1d) for m in model.modules()) == 5  # 40 -> 20 -> 10 -> 5 -> 2 -> 1


@pytest.mark.parametrize(("arch", "dataset"), [("mlp", "spirals"), ("cnn", "digits"), ("resnet", "mnist1d")])
def test_same_seed_same_weights(arch, dataset):
    spec = make_spec(arch, dataset, init={"scheme": "kaiming"})
    states = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        states.append(build_model(spec).state_dict())
    assert all(torch.equal(states[0][key], states[1][key]) for key in states[0])
    assert not all(torch.equal(states[0][key], states[2][key]) for key in states[0])


def test_build_model_applies_the_init_scheme():
    model = build_model(make_spec("mlp", "digits", hidden=[512], init={"scheme": "normal", "std": 0.2, "scale": 0.5}))
    linear = model.body[1]
    assert linear.weight.std().item() == pytest.approx(0.1, rel=0.05)
    assert torch.count_nonzero(linear.bias) == 0 and torch.count_nonzero(model.head.bias) == 0
