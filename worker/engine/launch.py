"""A job's process group: this process is rank 0, the other ranks are child processes it starts and always ends.

The ranks meet at a TCPStore that rank 0 serves on a free loopback port, and talk over gloo (CPU) or nccl
(CUDA). Each child is a fresh interpreter (`python -m worker.engine.rank`), never a fork, so no CUDA or
thread state is inherited (rule 11), and it dies with rank 0 (PR_SET_PDEATHSIG). Every collective has a
timeout: a rank that dies, or hangs, makes rank 0's next collective fail, and rank 0 raises RankLost.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from contracts.spec import JobSpec
from worker.engine.device import job_device
from worker.engine.ranks import Group

COLLECTIVE_TIMEOUT_S = 300.0  # a rank silent this long (a hung process) ends the attempt
STOP_WAIT_S = 30.0  # at the end, how long the other ranks get to exit before they are killed
LOOPBACK = "127.0.0.1"


class RankLost(RuntimeError):
    """A rank of the job's group died or stopped answering: this attempt cannot go on (resume from a checkpoint)."""


@contextlib.contextmanager
def process_group(spec: JobSpec, data_dir: Path, resume: dict | None, timeout_s: float) -> Iterator[Group]:
    """The job's group with this process as rank 0; on the way out the group is destroyed and every child ended."""
    size, timeout = spec.training.processes, timedelta(seconds=timeout_s)
    store = dist.TCPStore(LOOPBACK, 0, size, is_master=True, timeout=timeout, wait_for_workers=False)
    with tempfile.TemporaryDirectory(prefix="bnlab-ranks-") as folder:
        job_file = Path(folder) / "job.pt"
        torch.save({"spec": spec.model_dump(mode="json"), "resume": resume, "data_dir": str(data_dir)}, job_file)
        children = [_start_rank(job_file, store.port, rank, size, timeout_s) for rank in range(1, size)]
        try:
            device = join_group(spec, store, 0, size, timeout)
            yield Group(device)
        except RuntimeError as error:  # gloo's and nccl's errors: a peer closed its connection, or timed out
            lost = _lost(children, error)
            _kill(children)
            raise lost from error
        except BaseException:  # rank 0's own error, a time limit, an interrupt: the other ranks cannot go on
            _kill(children)
            raise
        finally:
            _leave_group()
        _end(children)


def join_group(spec: JobSpec, store: dist.Store, rank: int, size: int, timeout: timedelta) -> torch.device:
    """Join the group as `rank` on the job's device; the backend follows the device."""
    device = job_device(spec.training.device, rank)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # every rank is on this machine
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, store=store, rank=rank, world_size=size, timeout=timeout)
    return device


def _start_rank(job_file: Path, port: int, rank: int, size: int, timeout_s: float) -> subprocess.Popen:
    """Rank `rank` as a child interpreter; its output goes where this process's goes (the worker's log)."""
    command = [sys.executable, "-m", "worker.engine.rank", str(job_file), str(port), str(rank), str(size)]
    return subprocess.Popen([*command, str(timeout_s)], stdin=subprocess.DEVNULL)


def _leave_group() -> None:
    """Destroy this process's group, if it joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def _end(children: list[subprocess.Popen]) -> None:
    """After the last step: wait for the children to exit (they finish with rank 0), killing any that do not within
    STOP_WAIT_S; a child that failed then is RankLost."""
    for child in children:
        try:
            child.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    failed = [rank for rank, child in enumerate(children, start=1) if child.returncode]
    if failed:
        raise RankLost(f"rank {failed[0]} of {len(children) + 1} failed at the end of training")


def _kill(children: list[subprocess.Popen]) -> None:
    """End every child now, and reap it."""
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()


def _lost(children: list[subprocess.Popen], error: RuntimeError) -> RuntimeError:
    """RankLost naming the rank that ended, if one did; otherwise rank 0's own error, as it was."""
    for rank, child in enumerate(children, start=1):
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
        if child.returncode is not None and child.returncode != 0:
            return RankLost(f"rank {rank} of {len(children) + 1} ended ({_exit(child.returncode)}) during training")
    if "timed out" in str(error).lower() or "timeout" in str(error).lower():
        return RankLost(f"a rank of the job's group stopped answering: {error}")
    return error


def _exit(returncode: int) -> str:
    """'killed by SIGKILL' or 'exit status 3'."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"
