"""Seeded, resumable mini-batch order: a fresh permutation per epoch, incomplete tails dropped."""

import torch


class BatchOrder:
    """Index batches of a fixed size; dropping the tail keeps every batch (and its BN statistics) full-size."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        if batch_size > size:
            raise ValueError(f"training.batch_size ({batch_size}) exceeds the {size} training examples: lower it")
        self.size, self.batch_size = size, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.randperm(size, generator=self.generator)
        self.position = 0

    def next(self) -> torch.Tensor:
        """The indices of the next batch, starting a new epoch when the current one runs out."""
        if self.position + self.batch_size > self.size:
            self.order = torch.randperm(self.size, generator=self.generator)
            self.position = 0
        batch = self.order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return batch

    def state_dict(self) -> dict:
        """Everything needed to continue the exact same sequence after a restart."""
        return {"generator": self.generator.get_state(), "order": self.order.clone(), "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        """Continue the sequence captured by state_dict."""
        self.generator.set_state(state["generator"])
        self.order, self.position = state["order"].clone(), state["position"]
