"""bn's C++ kernels against the tensor-op reference and torch, and how they are built, cached and bypassed."""

import os
import subprocess
import sys
import warnings

import pytest
import torch

import bn
from bn import kernels
from tests.bn.conftest import make_pair

# The shapes the speed targets name (the canonical MLP's batch first), and edge cases.
SHAPES = [(60, 100), (100, 100), (256, 1024), (100, 25, 40), (64, 16, 32, 32), (8, 5, 3, 2, 3), (7, 1), (2, 3, 0)]


@pytest.fixture(autouse=True)
def bn_path():
    """This module compares the paths itself, so each test runs once, with the kernels built."""
    assert kernels.ops() is not None, "bn's C++ kernels did not build: see the warning above"
    return "kernel"


def torch_class(shape):
    return {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}[
        len(shape)
    ]


def bn_class(shape):
    return {2: bn.BatchNorm1d, 3: bn.BatchNorm1d, 4: bn.BatchNorm2d, 5: bn.BatchNorm3d}[len(shape)]


def training_step(layer, x, grad):
    """Output, input grad, parameter grads and running statistics after one training step."""
    x = x.clone().requires_grad_(True)
    y = layer(x)
    y.backward(grad)
    return [y, x.grad, layer.weight.grad, layer.bias.grad, layer.running_mean, layer.running_var]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_training_step_matches_reference_and_torch(shape, dtype):
    ours, theirs = make_pair(bn_class(shape), torch_class(shape), num_features=shape[1], dtype=dtype)
    reference, _ = make_pair(bn_class(shape), torch_class(shape), num_features=shape[1], dtype=dtype)
    reference.load_state_dict(ours.state_dict())
    x, grad = torch.randn(shape, dtype=dtype) * 3 + 1, torch.randn(shape, dtype=dtype)
    kernel_results = training_step(ours, x, grad)
    with kernels.reference_only():
        reference_results = training_step(reference, x, grad)
    assert "NormalizeFunction" in kernel_results[0].grad_fn.name()
    assert "BatchNormFunction" in reference_results[0].grad_fn.name()
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(kernel_results, reference_results, atol=tol, rtol=tol)
    torch.testing.assert_close(kernel_results, training_step(theirs, x, grad), atol=tol, rtol=tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_inference_matches_reference_and_torch(shape):
    ours, theirs = make_pair(bn_class(shape), torch_class(shape), num_features=shape[1])
    with torch.no_grad():
        ours.running_mean.uniform_(-1, 1), ours.running_var.uniform_(0.5, 2)
    theirs.load_state_dict(ours.state_dict())
    ours.eval(), theirs.eval()
    x = torch.randn(shape)
    with torch.no_grad():
        kernel = ours(x)
        with kernels.reference_only():
            reference = ours(x)
        torch.testing.assert_close(kernel, reference, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(kernel, theirs(x), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    ("shape", "fmt"), [((4, 5, 3, 6), torch.channels_last), ((3, 5, 2, 3, 4), torch.channels_last_3d)]
)
def test_inference_keeps_channels_last(shape, fmt):
    ours, theirs = make_pair(bn_class(shape), torch_class(shape))
    ours.eval(), theirs.eval()
    x = torch.randn(shape).contiguous(memory_format=fmt)
    with torch.no_grad():
        y = ours(x)
        assert y.is_contiguous(memory_format=fmt)
        torch.testing.assert_close(y, theirs(x))


def test_non_contiguous_input_and_grad():
    ours, theirs = make_pair(bn.BatchNorm1d, torch.nn.BatchNorm1d, num_features=6)
    x = torch.randn(6, 9).t()  # (9, 6), strided
    grad = torch.randn(6, 9).t()
    torch.testing.assert_close(training_step(ours, x, grad), training_step(theirs, x, grad))


@pytest.mark.parametrize("batch", [64, 65, 70])
def test_ghost_virtual_batches_match_the_reference(batch):
    """65 leaves a lone sample that joins the previous virtual batch; 70 a short last one of its own."""
    kernel_layer = bn.GhostBatchNorm1d(12, virtual_batch_size=16)
    reference_layer = bn.GhostBatchNorm1d(12, virtual_batch_size=16)
    x, grad = torch.randn(batch, 12) * 2 - 1, torch.randn(batch, 12)
    kernel = training_step(kernel_layer, x, grad)
    with kernels.reference_only():
        reference = training_step(reference_layer, x, grad)
    torch.testing.assert_close(kernel, reference, atol=1e-5, rtol=1e-5)


def test_batch_renorm_matches_the_reference():
    layers = [bn.BatchRenorm2d(4, rmax=1.5, dmax=0.5) for _ in range(2)]
    x, grad = torch.randn(8, 4, 3, 3) * 2 + 3, torch.randn(8, 4, 3, 3)
    for layer in layers:
        layer.running_var.fill_(2.0)
    kernel = training_step(layers[0], x, grad)
    with kernels.reference_only():
        reference = training_step(layers[1], x, grad)
    torch.testing.assert_close(kernel, reference, atol=1e-5, rtol=1e-5)


def test_results_do_not_depend_on_the_thread_count():
    """Each thread owns whole channels, so 1 and 2 threads give the same bits."""
    x, grad = torch.randn(64, 16, 32, 32), torch.randn(64, 16, 32, 32)
    results, threads = [], torch.get_num_threads()
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            results.append(training_step(bn.BatchNorm2d(16), x, grad))
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


def test_training_under_inference_mode_updates_running_stats():
    layer = bn.BatchNorm1d(5)
    x = torch.randn(32, 5) + 2
    with torch.inference_mode():
        y = layer(x)
    torch.testing.assert_close(layer.running_mean, 0.1 * x.mean(0))
    torch.testing.assert_close(y.mean(0), torch.zeros(5), atol=1e-5, rtol=0)


def test_eval_forward_with_a_graph_stays_differentiable():
    layer = bn.BatchNorm1d(5).eval()
    x = torch.randn(8, 5, requires_grad=True)
    layer(x).sum().backward()
    torch.testing.assert_close(x.grad, layer.weight.detach().expand(8, 5) / torch.sqrt(torch.tensor(1 + 1e-5)))


def test_a_failed_build_warns_once_and_falls_back_to_the_reference(monkeypatch, tmp_path):
    monkeypatch.setenv("BNLAB_KERNEL_DIR", str(tmp_path))

    def no_compiler(target):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(kernels, "build_and_load", no_compiler)
    kernels.library.cache_clear()
    try:
        with pytest.warns(UserWarning, match="no C[+][+] compiler.*tensor-op reference"):
            assert kernels.ops() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert kernels.ops() is None
            y = bn.BatchNorm1d(3)(torch.randn(4, 3))
        torch.testing.assert_close(y.mean(0), torch.zeros(3), atol=1e-6, rtol=0)
    finally:
        kernels.library.cache_clear()


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter with `env` on top of this one's."""
    return subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, timeout=600
    )


def test_a_built_library_loads_without_a_compiler():
    """The cache is all a machine needs once built: no compiler or ninja on PATH."""
    kernels.ops()
    code = "import warnings; warnings.simplefilter('error'); import bn.kernels as k; assert k.ops() is not None"
    result = run_python(code, PATH="/nonexistent")
    assert result.returncode == 0, result.stderr


def test_bnlab_bn_kernels_off_keeps_the_reference():
    result = run_python("import bn.kernels as k; assert k.ops() is None", BNLAB_BN_KERNELS="off")
    assert result.returncode == 0, result.stderr


def test_the_cache_key_follows_the_sources(monkeypatch, tmp_path):
    before = kernels.cache_key()
    for path in kernels.SOURCE_DIR.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(kernels, "SOURCE_DIR", tmp_path)
    assert kernels.cache_key() == before
    (tmp_path / "layout.h").write_text((tmp_path / "layout.h").read_text() + "\n// changed\n")
    assert kernels.cache_key() != before
