"""fold: eval-mode BN folded into the Linear/Conv before it, found by fx tracing or nn.Sequential order."""

import logging

import pytest
import torch
from torch import fx, nn

import bn
from bn import fold
from bn._fold import FoldReport
from bn._kinds import is_batchnorm


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomize(model: nn.Module) -> nn.Module:
    """Non-trivial running statistics and affine parameters in every BN, as after training."""
    with torch.no_grad():
        for module in model.modules():
            if is_batchnorm(module) and module.running_mean is not None:
                module.running_mean.normal_()
                module.running_var.uniform_(0.3, 2.0)
            for name in ("weight", "bias"):
                if is_batchnorm(module) and getattr(module, name) is not None:
                    getattr(module, name).normal_()
    return model


def train(model: nn.Module, x: torch.Tensor, steps: int = 5) -> nn.Module:
    """A few SGD steps in train mode, so running statistics and affine parameters move for real."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    return model


def assert_same_eval(model: nn.Module, folded: nn.Module, x: torch.Tensor) -> None:
    """The folded model computes what the original computes in eval mode, within 1e-5."""
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), atol=1e-5, rtol=0)


def count_bn(model: nn.Module) -> int:
    return sum(is_batchnorm(module) for module in model.modules())


class ResBlock(nn.Module):
    """A ResNet basic block whose forward calls conv and BN by hand, plus a BN after the activation."""

    def __init__(self, cin: int = 3, cout: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = bn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=1), bn.BatchNorm2d(cout))
        self.post = nn.BatchNorm2d(cout)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.post(torch.relu(out + self.shortcut(x)))


class Gate(nn.Module):
    """Data-dependent control flow: fx cannot trace it."""

    def forward(self, x):
        return x if x.sum() > 0 else -x


class ReusedOutput(nn.Module):
    """The conv output feeds the BN and the residual sum."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


class BnCalledTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.bn = nn.Linear(4, 4), nn.Linear(4, 4), nn.BatchNorm1d(4)

    def forward(self, x):
        return self.bn(self.a(x)) + self.bn(self.b(x))


class LayerCalledTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.bn = nn.Linear(4, 4), nn.BatchNorm1d(4)

    def forward(self, x):
        return self.bn(self.lin(self.lin(x)))


class Untraceable(nn.Module):
    """Untraceable root: a pair called by hand, an untraceable Sequential and a traceable custom child."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv1d(3, 6, 3, padding=1), bn.BatchNorm1d(6)
        self.features = nn.Sequential(nn.Conv1d(6, 6, 3, padding=1), nn.BatchNorm1d(6), Gate())
        self.repeated = nn.Linear(6, 6)
        self.head = nn.Sequential(nn.BatchNorm1d(6), self.repeated, nn.ReLU(), self.repeated, nn.BatchNorm1d(6), Gate())
        self.block = ResBlock(6, 6)

    def forward(self, x):
        x = self.features(self.bn(self.conv(x)))
        if x.mean() > 100:
            x = x * 2
        x = self.block(x.unsqueeze(-1)).squeeze(-1)
        return self.head(x.mean(-1))


def test_mlp_folds_torch_and_bn_layers():
    model = nn.Sequential(
        nn.Linear(10, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Linear(32, 32, bias=False),
        bn.BatchNorm1d(32),
        nn.Sigmoid(),
        nn.Linear(32, 5),
    )
    x = torch.randn(64, 10)
    train(model, x)
    folded = fold(model)
    assert folded.fold_report == FoldReport(folded=[("0", "1"), ("3", "4")], skipped={})
    assert isinstance(folded[1], nn.Identity) and isinstance(folded[4], nn.Identity)
    assert folded[3].bias is not None
    assert not folded.training
    assert_same_eval(model, folded, x)


def test_original_is_untouched():
    model = train(nn.Sequential(nn.Linear(6, 8), bn.BatchNorm1d(8)), torch.randn(16, 6))
    before = {key: value.clone() for key, value in model.state_dict().items()}
    folded = fold(model)
    assert folded is not model and model.training
    assert isinstance(model[1], bn.BatchNorm1d) and model[0].weight is not folded[0].weight
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())


def test_conv1d_with_groups_reflect_padding_and_no_bias():
    model = nn.Sequential(
        nn.Conv1d(3, 8, 5, padding=2),
        bn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Conv1d(8, 8, 3, padding=1, groups=2, bias=False, padding_mode="reflect"),
        nn.BatchNorm1d(8),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )
    x = torch.randn(16, 3, 20)
    train(model, x)
    folded = fold(model)
    assert folded.fold_report.folded == [("0", "1"), ("3", "4")]
    assert count_bn(folded) == 0
    assert_same_eval(model, folded, x)


@pytest.mark.parametrize(
    ("conv", "norm", "shape"),
    [
        (nn.Conv2d(3, 6, 3, stride=2, dilation=2, padding=2), bn.BatchNorm2d(6), (4, 3, 9, 9)),
        (nn.Conv2d(4, 6, 3, groups=2, bias=False), nn.BatchNorm2d(6, momentum=None), (4, 4, 7, 7)),
        (nn.Conv3d(2, 5, 3, padding=1), nn.BatchNorm3d(5), (2, 2, 4, 5, 6)),
    ],
)
def test_conv2d_and_conv3d(conv, norm, shape):
    model = randomize(nn.Sequential(conv, norm, nn.ReLU()))
    folded = fold(model)
    assert folded.fold_report.folded == [("0", "1")]
    assert_same_eval(model, folded, torch.randn(*shape))


def test_resnet_block_with_custom_forward_keeps_its_class():
    model = ResBlock()
    x = torch.randn(8, 3, 6, 6)
    train(model, x)
    folded = fold(model)
    assert type(folded) is ResBlock and not isinstance(folded, fx.GraphModule)
    report = folded.fold_report
    assert sorted(report.folded) == [("conv1", "bn1"), ("conv2", "bn2"), ("shortcut.0", "shortcut.1")]
    assert list(report.skipped) == ["post"] and "relu" in report.skipped["post"]
    assert isinstance(folded.post, nn.BatchNorm2d)
    assert_same_eval(model, folded, x)


def test_affine_false_and_bias_free_bn():
    model = randomize(
        nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8, affine=False), nn.Linear(8, 8), bn.BatchNorm1d(8, bias=False))
    )
    folded = fold(model)
    assert len(folded.fold_report.folded) == 2
    assert_same_eval(model, folded, torch.randn(10, 6))


def test_float64_stays_float64():
    model = randomize(nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))).double()
    folded = fold(model)
    assert folded[0].weight.dtype == folded[0].bias.dtype == torch.float64
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    model.eval()
    torch.testing.assert_close(folded(x), model(x), atol=1e-12, rtol=0)


def _tied() -> nn.Module:
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    second.weight = first.weight
    return nn.Sequential(first, nn.ReLU(), second, nn.BatchNorm1d(4))


def _hooked() -> nn.Module:
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    model[0].register_forward_pre_hook(lambda module, args: None)
    return model


@pytest.mark.parametrize(
    ("make", "bn_name", "reason"),
    [
        (lambda: nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.BatchNorm1d(4)), "2", "(ReLU)"),
        (lambda: nn.Sequential(nn.Conv2d(4, 4, 3), nn.MaxPool2d(2), bn.BatchNorm2d(4)), "2", "(MaxPool2d)"),
        (lambda: nn.Sequential(nn.ConvTranspose2d(4, 4, 3), nn.BatchNorm2d(4)), "1", "(ConvTranspose2d)"),
        (
            lambda: nn.Sequential(nn.Linear(4, 4), bn.BatchNorm1d(4, track_running_stats=False)),
            "1",
            "track_running_stats=False",
        ),
        (lambda: nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 4)), "0", "placeholder"),
        (ReusedOutput, "bn", "output of conv is also used elsewhere"),
        (BnCalledTwice, "bn", "called 2 times"),
        (LayerCalledTwice, "bn", "lin is called 2 times"),
        (_tied, "3", "shared"),
        (_hooked, "1", "forward hooks"),
    ],
)
def test_unfoldable_bn_stays_in_place(make, bn_name, reason):
    model = randomize(make())
    folded = fold(model)
    assert folded.fold_report.folded == []
    assert reason in folded.fold_report.skipped[bn_name]
    assert is_batchnorm(folded.get_submodule(bn_name))
    images = any(isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) for module in model.modules())
    x = torch.randn(6, 4, 8, 8) if images else torch.randn(6, 4)
    assert_same_eval(model, folded, x)


def test_channel_mismatch_is_reported_not_folded():
    folded = fold(randomize(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(16))))
    assert folded.fold_report.skipped == {"1": "0 has 8 output channels but the BN has 16 features"}


def test_untraceable_model_falls_back_to_sequential_order_and_traceable_children():
    model = Untraceable()
    x = torch.randn(8, 3, 10)
    train(model, x)
    folded = fold(model)
    report = folded.fold_report
    assert sorted(report.folded) == [
        ("block.conv1", "block.bn1"),
        ("block.conv2", "block.bn2"),
        ("block.shortcut.0", "block.shortcut.1"),
        ("features.0", "features.1"),
    ]
    assert report.skipped.keys() == {"bn", "block.post", "head.0", "head.4"}
    assert "not called as a module" in report.skipped["bn"]
    assert "first in its nn.Sequential" in report.skipped["head.0"]
    assert "shared" in report.skipped["head.4"]
    assert_same_eval(model, folded, x)


def test_report_is_readable_and_logged(caplog):
    model = randomize(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.BatchNorm1d(4)))
    with caplog.at_level(logging.INFO, logger="bn._fold"):
        folded = fold(model)
    text = str(folded.fold_report)
    assert text.splitlines() == [
        "fold: 1 folded, 1 kept",
        "  folded 1 into 0",
        "  kept 3: its input comes from 2 (ReLU), not a Linear/Conv1d/Conv2d/Conv3d",
    ]
    assert text in caplog.text


def test_root_bn_is_kept():
    folded = fold(nn.BatchNorm1d(4))
    assert isinstance(folded, nn.BatchNorm1d) and not folded.training
    assert list(folded.fold_report.skipped) == [""]
    assert "(root)" in str(folded.fold_report)


def test_model_without_bn_is_an_eval_copy():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    folded = fold(model)
    assert folded.fold_report == FoldReport() and not folded.training
    assert_same_eval(model, folded, torch.randn(2, 3))
