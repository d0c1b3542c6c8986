"""The processes a job trains on: one (Solo), or the ranks of a torch.distributed group in which rank 0 decides.

Every rank runs the same loop on its share of each batch. Rank 0 alone evaluates, reports and polls for a
stop, and after each step tells every rank what it decided (one broadcast), so that all ranks take the same
number of steps and checkpoint at the same steps. The losses and counts that metrics show are the whole
batch's (one all-reduce per step), never one rank's.
"""

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from worker.engine.device import CPU, rng_state
from worker.engine.norms import reads_running_stats

# Why a run stops, coded for the broadcast; None: it goes on.
STOP_REASONS = (None, "diverged", "target_reached", "cancelled", "paused")
RANK_SEED_STRIDE = 1 << 32  # training.seed < 2**31, so every rank's dropout stream is distinct


@dataclass(frozen=True)
class Decision:
    """What rank 0 decided after a step, for every rank: checkpoint now or not, and why to stop (None: go on)."""

    reason: str | None = None
    checkpoint: bool = False


class Solo:
    """One process trains on the whole batch, on `device`: nothing to share, sum or agree on."""

    rank, size, primary = 0, 1, True

    def __init__(self, device: torch.device = CPU) -> None:
        self.device = device

    def share(self, index: Tensor) -> Tensor:
        """This rank's examples of the batch: all of them."""
        return index

    def batch_totals(self, loss: Tensor, correct: Tensor) -> tuple[float, int]:
        """The whole batch's mean loss and correct predictions."""
        return loss.item(), int(correct.item())

    def agree(self, decision: Decision | None) -> Decision:
        """Rank 0's decision, for every rank."""
        return decision

    def rng_states(self) -> list[Tensor]:
        """Every rank's RNG state, for a checkpoint (the dropout masks of a resumed run depend on it)."""
        return [rng_state(self.device)]

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the training step calls."""
        return model

    def seed_own_stream(self, seed: int) -> None:
        """Rank 0 keeps the stream that seeded the weights, as a run in one process does."""

    def finish(self) -> None:
        """After the last step: nothing to wait for."""


class Group(Solo):
    """This process is one rank of an initialized process group, on `device`."""

    def __init__(self, device: torch.device) -> None:
        self.rank, self.size, self.device = dist.get_rank(), dist.get_world_size(), device
        self.primary = self.rank == 0

    def share(self, index: Tensor) -> Tensor:
        """An equal, contiguous slice per rank (the spec makes batch_size divisible by processes)."""
        per_rank = len(index) // self.size
        return index[self.rank * per_rank : (self.rank + 1) * per_rank]

    def batch_totals(self, loss: Tensor, correct: Tensor) -> tuple[float, int]:
        """Ranks hold equal shares, so the batch's mean loss is the mean of theirs; every rank gets the same."""
        totals = torch.stack([loss.detach().double(), correct.double()])
        dist.all_reduce(totals)
        return (totals[0] / self.size).item(), round(totals[1].item())

    def agree(self, decision: Decision | None) -> Decision:
        """Rank 0's decision broadcast; the other ranks pass None."""
        mine = decision or Decision()
        code = torch.tensor([STOP_REASONS.index(mine.reason), int(mine.checkpoint)], device=self.device)
        dist.broadcast(code, src=0)
        reason, checkpoint = code.tolist()
        return Decision(STOP_REASONS[reason], bool(checkpoint))

    def rng_states(self) -> list[Tensor]:
        """All ranks' RNG states, gathered on every rank (a collective: every rank calls it at the same step)."""
        mine = rng_state(self.device).to(self.device)
        states = [torch.empty_like(mine) for _ in range(self.size)]
        dist.all_gather(states, mine)
        return [state.cpu() for state in states]

    def wrap(self, model: nn.Module) -> nn.Module:
        """DistributedDataParallel: rank 0's weights and buffers to every rank at the start, gradients averaged over
        ranks; rank 0's buffers again at every forward only where training reads them (batch renorm). Elsewhere only
        rank 0's are ever read (it alone evaluates and checkpoints), so the others may drift: one collective less."""
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids, forward_sync_buffers=reads_running_stats(model))

    def seed_own_stream(self, seed: int) -> None:
        """Ranks other than 0 draw their own dropout masks, from a stream of their own."""
        if self.rank:
            torch.manual_seed(seed + self.rank * RANK_SEED_STRIDE)

    def finish(self) -> None:
        """Every rank has left the loop before any leaves the group (no collective is cut off by a peer's exit)."""
        dist.barrier()
