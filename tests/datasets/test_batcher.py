"""The Batcher's batches against their definition: consecutive runs of the epochs' orders laid end to end."""

import numpy as np
import pytest

from graphnn.datasets import Batcher
from graphnn.datasets.split import Split


def numbered_split(count):
    """Samples numbered 0..count-1 (their x), labels a function of the number."""
    return Split(np.arange(count, dtype=np.uint8).reshape(count, 1, 1), np.arange(count) * 7 % 5, 5, "memory")


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [1, 3, 10, 11, 23])
def test_batches_are_consecutive_runs_of_the_epoch_orders(batch_size, shuffle):
    split, batches = numbered_split(10), 9
    batcher = Batcher(split, batch_size, seed=5, shuffle=shuffle)
    epochs = -(-batches * batch_size // 10) + 1
    stream = np.concatenate([batcher.permutation(e) if shuffle else np.arange(10) for e in range(epochs)])
    drawn = [batcher.next() for _ in range(batches)]
    for k, batch in enumerate(drawn):
        expected = stream[k * batch_size:(k + 1) * batch_size]
        assert batch["x"].shape == (batch_size, 1, 1) and batch["x"].dtype == np.uint8
        assert batch["x"][:, 0, 0].tolist() == expected.tolist()
        assert batch["y"].tolist() == (expected * 7 % 5).tolist() and batch["y"].dtype == np.int64
    assert (batcher.epoch, batcher.cursor) == divmod(batches * batch_size, 10)


def test_a_shuffled_batch_is_its_own_copy():
    split = numbered_split(10)
    first = Batcher(split, 4, seed=1).next()
    assert not np.shares_memory(first["x"], split.x) and not np.shares_memory(first["y"], split.y)
