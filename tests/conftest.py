"""Suite-wide setup: bn's C++ kernels are built once, before any test, so no test's time includes their compile."""

import subprocess
import sys

import pytest


@pytest.fixture(scope="session", autouse=True)
def _bn_kernels_built() -> None:
    """Built in a child process (`python -m bn.kernels`), as bnlab's workers do at start, keeping torch out of this
    one; a failed build shows up in tests/bn, which require the kernels."""
    subprocess.run([sys.executable, "-m", "bn.kernels"], capture_output=True, check=False, timeout=900)
