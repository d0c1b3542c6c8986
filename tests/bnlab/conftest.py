"""Shared by the command-line tests: the console command and an environment confined to the test's folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BNLAB = str(Path(sys.executable).with_name("bnlab"))


@pytest.fixture
def env(tmp_path):
    """The environment of every command: data (and nothing else) under the test's own folder."""
    return {**os.environ, "BNLAB_DATA_DIR": str(tmp_path / "data")}


def bnlab(*args, env, **kwargs) -> subprocess.CompletedProcess:
    """Run the console command to completion, capturing its text output."""
    return subprocess.run([BNLAB, *map(str, args)], env=env, capture_output=True, text=True, timeout=120, **kwargs)
