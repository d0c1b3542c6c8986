"""Where a job trains: training.device resolved on the worker that runs it (a rank's own GPU on a CUDA machine)."""

import torch

CPU = torch.device("cpu")
NO_CUDA = (
    "training.device is cuda, but the worker that took this job has no CUDA device: run it on a worker with a GPU "
    "(bnlab worker --queues cuda), or set training.device to cpu or auto"
)


def job_device(kind: str, rank: int = 0) -> torch.device:
    """cpu; cuda (rank r on GPU r modulo the GPUs visible), refused without one; auto: cuda when there is one."""
    if kind == "cpu":
        return CPU
    if not torch.cuda.is_available():
        if kind == "cuda":
            raise ValueError(NO_CUDA)
        return CPU
    return torch.device("cuda", rank % torch.cuda.device_count())


def rng_state(device: torch.device) -> torch.Tensor:
    """The RNG state a run on `device` draws from: the CPU's, followed on CUDA by that GPU's (dropout's there)."""
    state = torch.get_rng_state()
    if device.type == "cuda":
        state = torch.cat([state, torch.cuda.get_rng_state(device)])
    return state


def set_rng_state(device: torch.device, state: torch.Tensor) -> None:
    """Restore what rng_state gave."""
    cpu_size = torch.get_rng_state().numel()
    torch.set_rng_state(state[:cpu_size].clone())
    if device.type == "cuda":
        torch.cuda.set_rng_state(state[cpu_size:].clone(), device)
