"""BatchOrder: seeded, reshuffled every epoch, full-size batches only, resumable mid-epoch."""

import pytest
import torch

from worker.engine.batches import BatchOrder


def take(order: BatchOrder, count: int) -> list[list[int]]:
    """The next `count` batches as lists of indices."""
    return [order.next().tolist() for _ in range(count)]


def test_same_seed_same_batches_other_seed_other_batches():
    assert take(BatchOrder(50, 8, seed=3), 20) == take(BatchOrder(50, 8, seed=3), 20)
    assert take(BatchOrder(50, 8, seed=3), 20) != take(BatchOrder(50, 8, seed=4), 20)


def test_each_epoch_is_a_fresh_permutation_without_the_tail():
    """50 examples in batches of 8: six batches per epoch, the last 2 of each permutation are dropped."""
    batches = take(BatchOrder(50, 8, seed=0), 12)
    assert all(len(batch) == 8 for batch in batches)
    first, second = ([index for batch in epoch for index in batch] for epoch in (batches[:6], batches[6:]))
    assert len(set(first)) == len(set(second)) == 48
    assert first != second


def test_state_dict_continues_the_identical_sequence():
    """Saved mid-epoch and restored into a differently seeded order, the next epochs are those of the original."""
    original = BatchOrder(50, 8, seed=1)
    take(original, 4)
    state = original.state_dict()
    expected = take(original, 15)
    restored = BatchOrder(50, 8, seed=99)
    restored.load_state_dict(state)
    assert take(restored, 15) == expected


def test_state_dict_is_a_snapshot():
    """Drawing more batches after state_dict() must not change what was saved."""
    order = BatchOrder(20, 8, seed=0)
    state = order.state_dict()
    saved = (state["generator"].clone(), state["order"].clone(), state["position"])
    take(order, 7)
    assert torch.equal(state["generator"], saved[0]) and torch.equal(state["order"], saved[1])
    assert state["position"] == saved[2]


def test_batch_larger_than_the_data_names_training_batch_size():
    with pytest.raises(ValueError, match=r"training\.batch_size"):
        BatchOrder(10, 11, seed=0)
    assert sorted(take(BatchOrder(10, 10, seed=0), 1)[0]) == list(range(10))  # one batch of every example is fine
