"""bn's C++ CPU kernels (bn/csrc): compiled on first use, cached per source and torch version.

The tensor-op implementation in bn._autograd stays the reference every kernel is tested against;
it is what runs where no kernel applies (CUDA, torch.compile, SyncBatchNorm across ranks) and where
the kernels cannot be built (no C++ compiler): then bn warns once and stays correct, only slower.
BNLAB_BN_KERNELS=off turns the kernels off; BNLAB_KERNEL_DIR moves the cache.
"""

import contextlib
import functools
import hashlib
import logging
import os
import platform
import sys
import tempfile
import warnings
from pathlib import Path

import torch

SOURCE_DIR = Path(__file__).parent / "csrc"
LIBRARY = "bn_kernels"
# -march=native: the library is built on the machine that runs it, and the cache key names the CPU.
FLAGS = ["-O3", "-march=native", "-fopenmp", "-fopenmp-simd", "-std=c++17"]
log = logging.getLogger(__name__)
_enabled = [os.environ.get("BNLAB_BN_KERNELS", "on").lower() not in ("off", "0", "false", "no")]


def sources() -> list[Path]:
    """The C++ files compiled into the library, in a fixed order."""
    return sorted(SOURCE_DIR.glob("*.cpp"))


def cpu_features() -> str:
    """The instruction sets this CPU offers (Linux's list), so that a cache moved to another CPU is rebuilt."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next((line for line in cpuinfo if line.startswith(("flags", "Features"))), "")
    except OSError:
        return f"{platform.machine()} {platform.processor()}"


def cache_key() -> str:
    """Changes with any source, header, flag, CPU, torch or Python version: a stale library is never loaded."""
    digest = hashlib.sha256()
    for path in sorted(SOURCE_DIR.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(f"{FLAGS}{cpu_features()}{torch.__version__}{sys.version_info[:2]}".encode())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """Where built libraries live: BNLAB_KERNEL_DIR, else the user's cache directory."""
    user_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    root = os.environ.get("BNLAB_KERNEL_DIR") or user_cache / "bnlab"
    return Path(root) / "kernels" / cache_key()


def build_and_load(target: Path) -> None:
    """Compile the sources into `target` and load them (atomic: a concurrent build never sees half a library)."""
    from torch.utils import cpp_extension

    log.warning("bn: compiling its C++ kernels into %s (once per version of them, about a minute)", target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as build_dir, ninja_on_path():
        cpp_extension.load(
            name=LIBRARY,
            sources=[str(path) for path in sources()],
            extra_cflags=FLAGS,
            extra_ldflags=["-fopenmp"],
            build_directory=build_dir,
            is_python_module=False,
        )
        os.replace(Path(build_dir) / f"{LIBRARY}.so", target)


@contextlib.contextmanager
def ninja_on_path():
    """torch runs `ninja` from PATH; the one pip installed sits in the venv, which PATH may not name."""
    import ninja

    previous = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{ninja.BIN_DIR}{os.pathsep}{previous}"
    try:
        yield
    finally:
        os.environ["PATH"] = previous


@functools.cache
def library():
    """torch.ops.bn with the kernels loaded, or None (with one warning) when they cannot be built."""
    target = cache_dir() / f"{LIBRARY}.so"
    try:
        if target.exists():
            torch.ops.load_library(str(target))
        else:
            build_and_load(target)
    except Exception as error:
        warnings.warn(f"bn: C++ kernels unavailable ({error}); using the slower tensor-op reference", stacklevel=2)
        return None
    return torch.ops.bn


def ops():
    """The kernel ops when enabled and built, else None: callers then take the reference path."""
    return library() if _enabled[0] else None


@contextlib.contextmanager
def reference_only():
    """Run bn on its tensor-op reference inside the block: for tests and benchmarks comparing the two."""
    previous, _enabled[0] = _enabled[0], False
    try:
        yield
    finally:
        _enabled[0] = previous


if __name__ == "__main__":
    ready = library() is not None
    print(f"bn kernels: {'ready' if ready else 'unavailable'} in {cache_dir()}")
    sys.exit(0 if ready else 1)
