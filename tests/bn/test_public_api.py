"""The public surface of bn is locked, documented, and free of torch's own batch-norm kernel."""

import inspect
import pathlib
import re
import tomllib

import pytest
import torch

import bn


@pytest.fixture(autouse=True)
def bn_path():
    """Once: the public surface is the same whichever path computes."""
    return "kernel"


EXPECTED = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "BatchRenorm1d",
    "BatchRenorm2d",
    "GhostBatchNorm1d",
    "GhostBatchNorm2d",
    "SyncBatchNorm",
    "convert",
    "fold",
    "functional",
]


def test_exported_names_are_locked_and_sorted():
    assert bn.__all__ == EXPECTED
    assert all(hasattr(bn, name) for name in bn.__all__)
    assert bn.functional.__all__ == ["batch_norm"]


def test_public_names_have_docstrings():
    for name in bn.__all__:
        assert inspect.getdoc(getattr(bn, name)), name
    assert "sqrt" in bn.BatchNorm2d.__doc__ and "(N, C, H, W)" in bn.BatchNorm2d.__doc__


def test_modules_are_torch_modules_with_torch_signature():
    torch_params = list(inspect.signature(torch.nn.BatchNorm2d).parameters)
    for cls in (bn.BatchNorm1d, bn.BatchNorm2d, bn.BatchNorm3d):
        assert issubclass(cls, torch.nn.Module)
        assert list(inspect.signature(cls).parameters) == torch_params
    assert list(inspect.signature(bn.functional.batch_norm).parameters) == list(
        inspect.signature(torch.nn.functional.batch_norm).parameters
    )


def test_bn_never_calls_torch_batch_norm_kernels():
    forbidden = re.compile(r"torch\.(nn\.functional\.)?batch_norm|native_batch_norm|aten\.\w*batch_norm|cudnn_batch")
    for path in pathlib.Path(bn.__file__).parent.glob("*.py"):
        assert not forbidden.search(path.read_text()), path.name
    forbidden_in_cpp = re.compile(r"at::(native::|native_)?\w*batch_norm|cudnn|miopen")
    sources = list(pathlib.Path(bn.__file__).parent.glob("csrc/*"))
    assert sources
    for path in sources:
        assert not forbidden_in_cpp.search(path.read_text()), path.name


def test_bn_ships_its_kernel_sources():
    """The C++ kernels compile on first use, so a wheel must carry their sources."""
    root = pathlib.Path(bn.__file__).parent
    project = tomllib.loads((root.parent / "pyproject.toml").read_text())
    shipped = project["tool"]["setuptools"]["package-data"]["bn"]
    assert {path.relative_to(root).as_posix() for path in root.glob("csrc/*")} == {
        path.relative_to(root).as_posix() for pattern in shipped for path in root.glob(pattern) if "csrc" in pattern
    }


def test_bn_ships_its_type_annotations_to_type_checkers():
    """PEP 561: the py.typed marker, in the package and in what setuptools puts into a wheel."""
    root = pathlib.Path(bn.__file__).parent
    project = tomllib.loads((root.parent / "pyproject.toml").read_text())
    assert (root / "py.typed").is_file()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["bn"]
