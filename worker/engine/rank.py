"""A rank of a job's process group other than 0: `python -m worker.engine.rank JOB_FILE PORT RANK SIZE TIMEOUT_S`.

Rank 0 (worker/engine/launch.py) writes the job file and serves the store; this rank trains its share of every
batch and reports nothing (rank 0 reports for the group). It exits with its parent: a rank left behind would
hold cores and a port.
"""

import ctypes
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from contracts.spec import JobSpec
from worker.engine.launch import LOOPBACK, join_group
from worker.engine.loop import train_rank
from worker.engine.ranks import Group
from worker.engine.reporter import Reporter

PR_SET_PDEATHSIG = 1


def main(job_file: str, port: str, rank: str, size: str, timeout_s: str) -> None:
    """Join the group, train, leave; an error ends this process non-zero, which ends the attempt on rank 0."""
    _die_with_parent()
    job = torch.load(job_file, weights_only=True)
    spec, timeout = JobSpec.model_validate(job["spec"]), timedelta(seconds=float(timeout_s))
    torch.set_num_threads(spec.training.threads)
    store = dist.TCPStore(LOOPBACK, int(port), int(size), is_master=False, timeout=timeout)
    device = join_group(spec, store, int(rank), int(size), timeout)
    try:
        train_rank(spec, Group(device), Reporter(), Path(job["data_dir"]), job["resume"])
    finally:
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no C++ static destructors: one that met a store thread still running aborted the process (SIGABRT)


def _die_with_parent() -> None:
    """Linux sends this process SIGKILL when the process that started it (rank 0) ends, however it ends."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


if __name__ == "__main__":
    main(*sys.argv[1:])
