"""The broker's queues, one per kind of device a job needs: every worker takes `cpu` (training.device cpu and auto),
only workers on a machine with a GPU take `cuda` (`bnlab worker --queues cpu,cuda`)."""

QUEUES = ("cpu", "cuda")
DEFAULT_QUEUE = "cpu"


def queue_for(device: str | None) -> str:
    """The queue of a job by its training.device (a job stored before the field existed trains on the CPU)."""
    return "cuda" if device == "cuda" else DEFAULT_QUEUE
