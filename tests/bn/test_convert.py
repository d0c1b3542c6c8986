"""convert: torch's BatchNorm1d/2d/3d swapped for bn's (and back) in place, state and Parameters kept."""

import copy

import pytest
import torch
from torch import nn

import bn
from bn import convert
from bn._kinds import is_batchnorm


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


class Net(nn.Module):
    """Torch BN of every rank, with non-default settings, nested one level down."""

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6, eps=1e-3, momentum=None), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4, affine=False, momentum=0.3))
        self.conv3 = nn.Sequential(nn.Conv3d(2, 3, 3), nn.BatchNorm3d(3, track_running_stats=False))

    def forward(self, x1, x2, x3):
        return self.mlp(x1).sum() + self.conv2(x2).square().mean() + self.conv3(x3).abs().mean()


def inputs() -> tuple[torch.Tensor, ...]:
    return torch.randn(8, 5), torch.randn(4, 2, 6, 6), torch.randn(2, 2, 5, 5, 5)


def batchnorms(model: nn.Module) -> dict[str, nn.Module]:
    return {name: module for name, module in model.named_modules() if is_batchnorm(module)}


def tensors(module: nn.Module) -> list[torch.Tensor | None]:
    return [getattr(module, name) for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]


def settings(module: nn.Module) -> tuple:
    return module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats, module.training


def test_swaps_exact_classes_in_place_and_keeps_state():
    model = Net()
    model(*inputs())
    model.conv2.eval()
    old = batchnorms(model)
    assert convert(model) is model
    new = batchnorms(model)
    assert {name: type(module) for name, module in new.items()} == {
        "mlp.1": bn.BatchNorm1d,
        "conv2.1": bn.BatchNorm2d,
        "conv3.1": bn.BatchNorm3d,
    }
    for name, module in new.items():
        assert settings(module) == settings(old[name])
        assert all(a is b for a, b in zip(tensors(module), tensors(old[name]), strict=True))


@pytest.mark.parametrize("training", [True, False])
def test_same_outputs_grads_and_running_stats(training):
    reference = Net()
    reference(*inputs())
    converted = convert(copy.deepcopy(reference))
    for model in (reference, converted):
        model.train(training)
    x = inputs()
    out_ref, out_new = reference(*x), converted(*x)
    torch.testing.assert_close(out_new, out_ref)
    out_ref.backward()
    out_new.backward()
    for (name, p_ref), p_new in zip(reference.named_parameters(), converted.parameters(), strict=True):
        torch.testing.assert_close(p_new.grad, p_ref.grad, msg=name)
    for (name, b_ref), b_new in zip(reference.named_buffers(), converted.buffers(), strict=True):
        torch.testing.assert_close(b_new, b_ref, msg=name)


def test_state_dict_identical_and_round_trip():
    model = Net()
    model(*inputs())
    before = {key: value.clone() for key, value in model.state_dict().items()}
    params = list(model.parameters())
    convert(model)
    assert list(model.state_dict()) == list(before)
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())
    assert convert(model, to="torch") is model
    assert [type(module) for module in batchnorms(model).values()] == [nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d]
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())


def test_optimizer_built_before_still_trains():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    convert(model)
    weight = model[1].weight.detach().clone()
    model(torch.randn(8, 3)).square().sum().backward()
    optimizer.step()
    assert isinstance(model[1], bn.BatchNorm1d) and not torch.equal(model[1].weight, weight)


def test_module_registered_twice_gets_one_replacement():
    shared = nn.BatchNorm1d(4)
    model = nn.Sequential(nn.Sequential(shared), nn.ModuleDict({"again": shared}))
    convert(model)
    assert isinstance(model[0][0], bn.BatchNorm1d) and model[0][0] is model[1]["again"]


def test_root_bn_returns_its_replacement():
    root = nn.BatchNorm2d(3, dtype=torch.float64).eval()
    converted = convert(root)
    assert type(converted) is bn.BatchNorm2d and not converted.training
    assert converted.weight is root.weight and converted.running_var is root.running_var
    assert convert(converted, to="torch").weight is root.weight


def test_dtype_kept_and_nothing_left_on_meta():
    model = convert(Net().double())
    assert all(t.dtype == torch.float64 for t in model.parameters())
    assert all(t.device.type == "cpu" for t in (*model.parameters(), *model.buffers()))


def test_leaves_subclasses_and_variants_alone():
    class TorchSubclass(nn.BatchNorm2d):
        pass

    class BnVariant(bn.BatchNorm2d):
        pass

    model = nn.Sequential(TorchSubclass(3), nn.SyncBatchNorm(3), nn.LazyBatchNorm1d(), BnVariant(3))
    convert(model)
    assert [type(module) for module in model] == [TorchSubclass, nn.SyncBatchNorm, nn.LazyBatchNorm1d, BnVariant]
    convert(model, to="torch")
    assert type(model[3]) is BnVariant


def test_bias_free_bn_cannot_go_back_and_nothing_changes():
    model = nn.Sequential(bn.BatchNorm1d(4), bn.BatchNorm1d(4, bias=False))
    with pytest.raises(ValueError, match="1 is affine without a bias"):
        convert(model, to="torch")
    assert [type(module) for module in model] == [bn.BatchNorm1d, bn.BatchNorm1d]


def test_rejects_unknown_target():
    with pytest.raises(ValueError, match=r"\['bn', 'torch'\], got 'jax'"):
        convert(nn.BatchNorm1d(3), to="jax")
