"""Data-parallel training over MPI (mpi4py), the way Horovod and ChainerMN scale it: K processes (ranks),
on one machine or many, train one network together.

    mpiexec -n 4 graphnn run models/mlp784.json --distributed

Every step, every rank draws the same global batch of B samples (the Batcher's seeded order is the same
everywhere) and trains on its own slice of it: rank r of K takes samples [r B/K, (r+1) B/K). After
backward, two allreduces per step sum, in place,

    the parameter store's gradient buffer (graphnn/params.py: every weight gradient, one flat array)
    [ every state array (running statistics) | loss, accuracy, stop flags ]   (small, allocated once)

which are then divided by K. A loss is the mean over its batch, so with equal slices the mean of the K
slice gradients is the gradient over the global batch: every rank applies the update one process with
batch B would, to float rounding, and the weights stay the same on every rank. Averaging the state keeps
batch norm's running statistics the same everywhere too (while training, each rank normalises with its
own slice's statistics, as Horovod does without synchronised batch norm).

- Start: rank 0's weights (initial or resumed) are broadcast; a rank whose model, settings or data
  differ from rank 0's refuses to start, naming what differs.
- Dropout: rank r draws iteration i's masks from a generator seeded by (run seed, r, i), so a run is
  reproducible and a resumed one needs no per-rank generator state.
- Stopping: a rank that receives SIGINT or SIGTERM sets its flag in the step's small buffer, so all ranks
  learn of it in the same step and stop after it; rank 0 writes the snapshot. A signal after the last
  step (during the final test, which is collective and so runs to its end) is agreed on by one more
  allreduce after it (``final_signal``): every rank then stops as in a step, the run folder left to
  ``--resume`` (the last snapshot holds the trained weights), exit 128 + the signal's number.
- Testing: rank r evaluates its contiguous part of the test set and the sums (loss, correct, count) are
  allreduced: the metrics one process would report, K times sooner, with no rank left idle.
- Output: rank 0 alone writes the run folder (bundle, metrics, summary, snapshots) and prints.
- Failure: an exception on a rank prints ``rank R: error: ...`` on one line and calls MPI_Abort, which
  ends every rank; a rank that dies is reported by the launcher (mpich's hydra names its PID, which
  rank 0's first line maps to the rank) and the launcher ends the others.
"""

import hashlib
import json
import os
import signal
import socket
import sys
import time
import traceback
import zlib
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np

from graphnn.errors import GraphnnError
from graphnn.train.evaluate import averages, totals
from graphnn.train.settings import settings_record
from graphnn.train.signals import Interrupted, StopRequest

DROPOUT_STREAM = 0x64726f70  # "drop": keeps the ranks' dropout generators apart from other seeded streams
REPORT_DELAY = 0.5  # seconds a rank > 0 waits before reporting an error, so one every rank hits is told once
INSTALL_HINT = "pip install 'graphnn[mpi]' (mpi4py and mpich); see docs/distributed.md"
_EXTRA = ("loss", "accuracy", "sigint", "sigterm")  # scalars that travel in the step's small buffer


class World:
    """The ranks of a run: ``rank``, ``size``, and the few collectives data-parallel training needs.
    ``World()`` is a run of one process (no MPI); ``connect()`` gives the MPI job's."""

    def __init__(self, comm=None, mpi=None):
        self.comm, self.mpi = comm, mpi
        self.rank = comm.Get_rank() if comm is not None else 0
        self.size = comm.Get_size() if comm is not None else 1

    @property
    def leader(self):
        """Whether this is rank 0, which writes the run folder and prints."""
        return self.rank == 0

    def allreduce(self, buffer):
        """Sum ``buffer`` (a contiguous array) over all ranks, in place."""
        if self.size > 1:
            self.comm.Allreduce(self.mpi.IN_PLACE, buffer, op=self.mpi.SUM)

    def broadcast(self, buffer):
        """Overwrite ``buffer`` on every rank with rank 0's, in place."""
        if self.size > 1:
            self.comm.Bcast(buffer, root=0)

    def broadcast_bytes(self, data):
        """Rank 0's ``data`` (bytes) on every rank (others pass None); raw bytes, nothing pickled."""
        if self.size == 1:
            return data
        length = np.array([len(data) if self.leader else 0], np.int64)
        self.broadcast(length)
        buffer = np.frombuffer(bytearray(data), np.uint8) if self.leader else np.empty(int(length[0]), np.uint8)
        self.broadcast(buffer)
        return buffer.tobytes()

    def gather_text(self, text, width=64):
        """Every rank's ``text`` (cut to ``width`` UTF-8 bytes), in rank order, on every rank."""
        mine = np.zeros(width, np.uint8)
        encoded = text.encode()[:width]
        mine[:len(encoded)] = np.frombuffer(encoded, np.uint8)
        everyone = np.zeros((self.size, width), np.uint8)
        if self.size > 1:
            self.comm.Allgather(mine, everyone)
        else:
            everyone[0] = mine
        return [row.tobytes().rstrip(b"\0").decode(errors="replace") for row in everyone]

    def barrier(self):
        if self.size > 1:
            self.comm.Barrier()

    def abort(self, message, code=1):
        """Print ``rank R: MESSAGE`` on one line and end every rank of the job with exit code ``code``."""
        if self.size > 1 and not self.leader:
            time.sleep(REPORT_DELAY)  # an error every rank hits: rank 0's report (and abort) comes first
        sys.stderr.write(f"rank {self.rank}: {message}\n")
        sys.stderr.flush()
        if self.comm is None:
            raise SystemExit(code)
        time.sleep(0.1)  # the launcher forwards our stderr before the abort tears the job down
        self.comm.Abort(code)

    @contextmanager
    def guard(self, passthrough=()):
        """Turn any exception in the block (but ``passthrough`` ones and SystemExit) into ``abort``: a rank
        that fails must end the job, or the others would wait for it forever in the next collective."""
        try:
            yield
        except passthrough:
            raise
        except (GraphnnError, KeyboardInterrupt) as error:  # a signal before or after training too: one line
            from graphnn.cli import exit_code, message  # the one mapping of error class -> exit code and line

            self.abort(f"error: {message(error)}", exit_code(error))
        except Exception as error:  # noqa: BLE001 — a bug: its traceback, then the line
            traceback.print_exc()
            self.abort(f"error: {type(error).__name__}: {error}".replace("\n", " "), 1)


def connect(expected=None):
    """The World of the MPI job this process belongs to (``mpi4py`` initialises MPI here).

    ``expected``: the job size the launcher announced (graphnn.mpilaunch.launched_size); a process that
    MPI calls alone while the launcher started several was started by another MPI's mpiexec.
    """
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise GraphnnError(f"distributed training needs mpi4py and an MPI library ({error}): {INSTALL_HINT}") \
            from None
    world = World(MPI.COMM_WORLD, MPI)
    if expected is not None and expected > 1 and world.size == 1:
        library = " ".join(MPI.Get_library_version().split("\n")[0].split())
        raise GraphnnError(f"the launcher started {expected} ranks but MPI sees this process alone: mpi4py uses "
                           f"{library}, another MPI than the mpiexec that started it; use the mpiexec of that "
                           "MPI (e.g. the one installed beside this Python)")
    return world


class DataParallel:
    """The Trainer's strategy in a data-parallel run (``Trainer(..., strategy=DataParallel(world))``; the
    contract is graphnn/train/loop.py's SingleProcess): this rank's slice of each global batch, its dropout
    generator, the one allreduce per step, and testing on a part of the test set. ``announce(line)``, when
    given, hears rank 0's line about the ranks once they have been checked."""

    def __init__(self, world, announce=None):
        self.world, self.announce = world, announce
        self.local_stop = StopRequest()  # this rank's; agree_on() puts the signal handler's in its place
        self.stop = StopRequest()  # set on every rank in the step after any rank's local_stop was
        self.allreduce_seconds = 0.0  # in the steps' allreduce, waiting for slower ranks included

    def setup(self, trainer):
        """Split the batch among the ranks, lay out the step's buffer, check that every rank runs the same
        model, settings and data, and give every rank rank 0's weights."""
        settings, network, world = trainer.settings, trainer.network, self.world
        if settings.batch_size % world.size:
            raise GraphnnError(f"the global batch size {settings.batch_size} does not split evenly among "
                               f"{world.size} ranks; choose a batch size that is a multiple of {world.size} "
                               "(--batch-size)", file=trainer.model.file, path="/train/batch_size")
        self.trainer, self.seed = trainer, settings.seed
        self.per_rank = settings.batch_size // world.size
        self.start = world.rank * self.per_rank
        self.store = network.store  # its gradient buffer is allreduced in place
        state_size = self.store.state_flat.size
        self.extra = np.zeros(state_size + len(_EXTRA), network.dtype)  # [state | _EXTRA], allreduced each step
        self.state_part, self.scalars = self.extra[:state_size], self.extra[state_size:]
        self._check_ranks_agree(trainer)
        self._broadcast_network(network)

    def agree_on(self, stop):
        """The StopRequest every rank sees for ``stop``, this rank's (graphnn/train/signals.py): it is set on all
        ranks at the end of the step in which any rank's ``stop`` was."""
        self.local_stop = stop
        return self.stop

    # ----- the training loop's hooks -----------------------------------------------------------------

    def shard(self, batch):
        """(this rank's slice of a global batch ({field: array}; views, no copy), this rank's dropout
        generator for the step, made when first drawn from)."""
        part = {key: value[self.start:self.start + self.per_rank] for key, value in batch.items()}
        return part, self.rng(self.trainer.iteration)

    def rng(self, iteration):
        """This rank's dropout generator for ``iteration``, made when first drawn from."""
        return _LazyGenerator((self.seed, (DROPOUT_STREAM, self.world.rank, iteration)))

    def average(self, network, grads, loss, accuracy):
        """(gradients, loss, accuracy) averaged over the ranks, and the network's state averaged in place:
        the store's gradient buffer is allreduced in place, the state (copied) and the scalars in one small
        buffer. The gradients returned are ``grads``, the store's views, now holding the average."""
        grad_flat, size = self.store.grad_flat, self.world.size
        np.copyto(self.state_part, self.store.state_flat)
        signum = self.local_stop.signal
        self.scalars[:] = (loss, accuracy, signum == signal.SIGINT, signum == signal.SIGTERM)
        started = time.perf_counter()
        self.world.allreduce(grad_flat)
        self.world.allreduce(self.extra)
        self.allreduce_seconds += time.perf_counter() - started
        np.divide(grad_flat, size, out=grad_flat)
        np.divide(self.extra, size, out=self.extra)
        np.copyto(self.store.state_flat, self.state_part)
        if self.scalars[3] > 0 or self.scalars[2] > 0:
            self.stop.signal = signal.SIGTERM if self.scalars[3] > 0 else signal.SIGINT
        return grads, float(self.scalars[0]), float(self.scalars[1])

    def final_signal(self):
        """After the last step (and the final test): the stop signal any rank received since that step's
        allreduce, the same on every rank (SIGTERM before SIGINT), or None. One small allreduce, which
        every rank makes."""
        signum = self.local_stop.signal
        flags = np.array([signum == signal.SIGINT, signum == signal.SIGTERM], np.float64)
        self.world.allreduce(flags)
        return signal.SIGTERM if flags[1] > 0 else signal.SIGINT if flags[0] > 0 else None

    def evaluate(self, network, split, batch_size):
        """evaluate() over all of ``split``: each rank adds up the totals of its contiguous part, and the
        ranks' totals are added before dividing (graphnn/train/evaluate.py)."""
        count, rank, size = len(split.y), self.world.rank, self.world.size
        start, stop = count * rank // size, count * (rank + 1) // size
        part = totals(network, SimpleNamespace(x=split.x[start:stop], y=split.y[start:stop]), batch_size)
        names = list(part["losses"])
        sums = np.array([part["loss"], part["correct"], part["samples"], *part["losses"].values()])  # float64
        self.world.allreduce(sums)
        return averages({"loss": sums[0], "correct": sums[1], "samples": int(sums[2]),
                         "losses": dict(zip(names, sums[3:]))})

    # ----- setting up and stopping ---------------------------------------------------------------------

    def _check_ranks_agree(self, trainer):
        """Refuse to start when this rank's model, settings or data differ from rank 0's; then rank 0
        reports one line: the ranks, where they run (host:pid) and the batch split."""
        world = self.world
        mine = fingerprints(trainer)
        everyone = world.gather_text(json.dumps(mine, sort_keys=True), width=256)
        reference = json.loads(everyone[0])
        differing = [what for what in mine if reference.get(what) != mine[what]]
        if differing:
            raise GraphnnError(f"this rank's {' and '.join(differing)} differ from rank 0's; every rank must run "
                               "the same model file, settings and data")
        places = world.gather_text(f"{os.getpid()} on {socket.gethostname()}")
        if world.leader and self.announce is not None:
            ranks = ", ".join(f"rank {rank} pid {place}" for rank, place in enumerate(places))
            self.announce(f"distributed: {world.size} ranks ({ranks}); global batch "
                             f"{trainer.settings.batch_size}, {self.per_rank} per rank")

    def _broadcast_network(self, network):
        """Give every rank rank 0's weights and state (the store's buffers, in place)."""
        self.world.broadcast(network.store.weight_flat)
        self.world.broadcast(network.store.state_flat)

    def report(self):
        """One line for the end of a run: the ranks and the share of training time spent in the allreduce."""
        trainer = self.trainer
        share = self.allreduce_seconds / trainer.seconds if trainer.seconds else 0.0
        ranks = f"{self.world.size} rank{'s' if self.world.size > 1 else ''}"
        allreduced = self.store.grad_flat.nbytes + self.extra.nbytes
        return (f"distributed: {ranks}, {allreduced / 1e6:.2f} MB allreduced per step; "
                f"rank 0 spent {self.allreduce_seconds:.2f} s of {trainer.seconds:.2f} s in it ({share:.1%})")

    def follow(self, trainer):
        """The checkpoint hook of ranks > 0: they write nothing, but stop when the ranks agreed to."""
        if self.stop.signal is not None:
            raise Interrupted(self.stop.signal, trainer.iteration)


class _LazyGenerator:
    """A numpy Generator seeded by SeedSequence(seed, spawn_key), made on first use: seeding one costs about
    50 us, a tenth of a small model's step, and models without dropout never draw."""

    def __init__(self, seed_and_key):
        self._seed_and_key, self._generator = seed_and_key, None

    def __getattr__(self, name):
        if self._generator is None:
            seed, key = self._seed_and_key
            self._generator = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
        return getattr(self._generator, name)


def fingerprints(trainer):
    """{what: digest} of what must be the same on every rank: the model, the settings and the data."""
    def digest(*parts):
        hasher = hashlib.sha256()
        for part in parts:
            if isinstance(part, np.ndarray):
                hasher.update(f"{part.dtype.str}{part.shape}{zlib.crc32(np.ascontiguousarray(part))}".encode())
            else:
                hasher.update(json.dumps(part, sort_keys=True).encode())
        return hasher.hexdigest()[:16]

    found = {"model": digest(trainer.model.document), "settings": digest(settings_record(trainer.settings)),
             "training data": digest(trainer.train_split.x, trainer.train_split.y)}
    if trainer.test_split is not None:
        found["test data"] = digest(trainer.test_split.x, trainer.test_split.y)
    return found


def read_snapshot(world, folder):
    """Rank 0's verified snapshot of ``folder``, on every rank (rank 0 reads it; the bytes are broadcast)."""
    from graphnn.io import bundle
    from graphnn.train import snapshots

    data = bundle.to_bytes(snapshots.read(folder)) if world.leader else None
    data = world.broadcast_bytes(data)
    path = str(snapshots.snapshot_path(folder))
    return snapshots.verify(bundle.from_bytes(data, file=path), path)
