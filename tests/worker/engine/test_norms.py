"""make_norm: each kind gives the right layer for the input's rank and receives the options that concern it."""

import pytest
import torch
from torch import nn

import bn
from contracts.spec import NormOptions
from worker.engine.norms import make_norm

# kind -> the layer for spatial_dims 0, 1, 2
EXPECTED = {
    "none": (nn.Identity, nn.Identity, nn.Identity),
    "batchnorm": (bn.BatchNorm1d, bn.BatchNorm1d, bn.BatchNorm2d),
    "torch_batchnorm": (nn.BatchNorm1d, nn.BatchNorm1d, nn.BatchNorm2d),
    "sync_batchnorm": (bn.SyncBatchNorm, bn.SyncBatchNorm, bn.SyncBatchNorm),
    "ghost_batchnorm": (bn.GhostBatchNorm1d, bn.GhostBatchNorm1d, bn.GhostBatchNorm2d),
    "batch_renorm": (bn.BatchRenorm1d, bn.BatchRenorm1d, bn.BatchRenorm2d),
    "layernorm": (nn.LayerNorm, nn.GroupNorm, nn.GroupNorm),
    "groupnorm": (nn.GroupNorm, nn.GroupNorm, nn.GroupNorm),
}
SHAPES = {0: (6, 8), 1: (6, 8, 5), 2: (6, 8, 3, 4)}


@pytest.mark.parametrize("spatial_dims", [0, 1, 2])
@pytest.mark.parametrize("kind", EXPECTED)
def test_kind_gives_its_layer_and_keeps_the_shape(kind, spatial_dims):
    layer = make_norm(kind, 8, spatial_dims, NormOptions(groups=4, virtual_batch_size=4))
    assert type(layer) is EXPECTED[kind][spatial_dims]
    x = torch.randn(SHAPES[spatial_dims])
    assert layer(x).shape == x.shape


@pytest.mark.parametrize("kind", ["batchnorm", "torch_batchnorm", "ghost_batchnorm", "batch_renorm"])
def test_batch_norms_take_momentum_eps_affine(kind):
    layer = make_norm(kind, 8, 2, NormOptions(momentum=0.3, eps=1e-3, affine=False))
    assert (layer.momentum, layer.eps, layer.affine) == (0.3, 1e-3, False)
    assert layer.weight is None and not list(layer.parameters())


def test_cumulative_momentum_reaches_batchnorm():
    assert make_norm("batchnorm", 8, 0, NormOptions(momentum=None)).momentum is None


def test_ghost_receives_virtual_batch_size():
    assert make_norm("ghost_batchnorm", 8, 1, NormOptions(virtual_batch_size=5)).virtual_batch_size == 5


def test_renorm_receives_its_limits():
    layer = make_norm("batch_renorm", 8, 2, NormOptions(rmax=2.0, dmax=1.5, warmup=100))
    assert (layer.rmax, layer.dmax, layer.warmup) == (2.0, 1.5, 100)


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_and_groupnorm_take_eps_and_affine(affine):
    options = NormOptions(eps=1e-3, affine=affine, groups=2)
    layer_norm, group_norm = make_norm("layernorm", 8, 0, options), make_norm("groupnorm", 8, 2, options)
    assert (layer_norm.eps, layer_norm.elementwise_affine) == (1e-3, affine)
    assert (group_norm.eps, group_norm.affine, group_norm.num_groups) == (1e-3, affine, 2)
    assert sum(p.numel() for p in layer_norm.parameters()) == (16 if affine else 0)


def test_layernorm_on_conv_features_is_one_group():
    assert make_norm("layernorm", 8, 1, NormOptions()).num_groups == 1


def test_groupnorm_on_mlp_features_normalizes_each_group():
    x = torch.randn(5, 8) * 3 + 2
    y = make_norm("groupnorm", 8, 0, NormOptions(groups=4, eps=1e-5))(x)
    groups = x.view(5, 4, 2)
    manual = (groups - groups.mean(-1, keepdim=True)) / torch.sqrt(groups.var(-1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(y, manual.view(5, 8))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="spatial_dims"):
        make_norm("batchnorm", 8, 3, NormOptions())
    with pytest.raises(ValueError, match="unknown norm kind"):
        make_norm("instancenorm", 8, 2, NormOptions())
