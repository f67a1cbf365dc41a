"""Batches in wrap-around order, reshuffled every epoch.

Epoch ``e`` visits the samples in the order ``permutation(e)``: a permutation drawn from a
``numpy.random.Generator`` seeded by (run seed, e), or the stored order when not shuffling. Batches are
consecutive runs of that order; a batch that runs past the end of an epoch continues from the start of
the next epoch's order, so every batch has exactly ``batch_size`` samples.

Because each epoch's order is derived from (seed, epoch), the whole position is three numbers —
``{"epoch", "cursor", "seed"}`` plus checks — and ``load_state_dict(state_dict())`` resumes it exactly.
"""

import numpy as np

from graphnn.errors import DataError

DATA_STREAM = 0x64617461  # "data": keeps these generators apart from others seeded from the run's seed
POSITION_FORMAT = "graphnn-batcher/1"


class Batcher:
    """``next()`` gives ``{"x": samples, "y": class indices}`` of ``batch_size`` samples from ``split``."""

    def __init__(self, split, batch_size, seed=0, shuffle=True):
        if len(split) == 0:
            raise DataError("cannot draw batches from an empty split", file=split.source)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise DataError(f"batch size must be an integer >= 1; got {batch_size!r}")
        self.split, self.batch_size, self.seed, self.shuffle = split, batch_size, seed, shuffle
        self._start_epoch(0)

    def permutation(self, epoch):
        """The order of epoch ``epoch``: indices (N,), or None for the stored order."""
        if not self.shuffle:
            return None
        sequence = np.random.SeedSequence(self.seed, spawn_key=(DATA_STREAM, epoch))
        return np.random.default_rng(sequence).permutation(len(self.split))

    def next(self):
        """The next batch; advances the position, starting a new epoch (and order) at the end of one."""
        x, y = self.split.x, self.split.y
        start, stop = self.cursor, self.cursor + self.batch_size
        if stop > len(self.split):  # past the end of the epoch: the rest of its order, then the next epoch's
            index = np.concatenate(list(self._runs_across_epochs()))
            return {"x": x.take(index, axis=0), "y": y.take(index)}
        order = self.order
        self.cursor = stop
        if stop == len(self.split):
            self._start_epoch(self.epoch + 1)
        if order is None:
            return {"x": x[start:stop], "y": y[start:stop]}  # views: no copy
        index = order[start:stop]
        return {"x": x.take(index, axis=0), "y": y.take(index)}

    def _runs_across_epochs(self):
        """The indices of a batch that crosses the end of an epoch, one run per epoch visited, advancing
        the position as they are drawn."""
        count, needed = len(self.split), self.batch_size
        while needed:
            take = min(needed, count - self.cursor)
            yield (np.arange(self.cursor, self.cursor + take) if self.order is None
                   else self.order[self.cursor:self.cursor + take])
            self.cursor += take
            needed -= take
            if self.cursor == count:
                self._start_epoch(self.epoch + 1)

    def _start_epoch(self, epoch):
        self.epoch, self.cursor = epoch, 0
        self.order = self.permutation(epoch)

    __next__ = next

    def __iter__(self):
        return self

    def state_dict(self):
        """Where the batcher is, as plain JSON data; ``load_state_dict`` resumes from it exactly."""
        return {"format": POSITION_FORMAT, "epoch": self.epoch, "cursor": self.cursor, "seed": self.seed,
                "shuffle": self.shuffle, "samples": len(self.split)}

    def load_state_dict(self, state):
        """Resume from ``state_dict()``'s data; DataError when it does not belong to this split and seed."""
        expected = {"format": POSITION_FORMAT, "seed": self.seed, "shuffle": self.shuffle, "samples": len(self.split)}
        if not isinstance(state, dict):
            raise DataError(f"a batcher position must be an object; got {type(state).__name__}")
        for key, value in expected.items():
            if state.get(key) != value:
                raise DataError(f"batcher position has {key}={state.get(key)!r}; this run has {value!r}")
        epoch, cursor = state.get("epoch"), state.get("cursor")
        if not (type(epoch) is int and type(cursor) is int and epoch >= 0 and 0 <= cursor < len(self.split)):
            raise DataError(f"batcher position needs an epoch >= 0 and a cursor in [0, {len(self.split)}); "
                            f"got epoch={epoch!r}, cursor={cursor!r}")
        self._start_epoch(epoch)
        self.cursor = cursor
        return self
