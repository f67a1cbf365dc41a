"""Snapshots: a run's whole training state in one bundle, so that a run stopped at any moment (Ctrl-C,
SIGTERM, a kill, a power cut) resumes exactly where its last snapshot left it.

``RUN_DIR/snapshot.gnn`` is a bundle (graphnn/io/bundle.py), written atomically (graphnn/io/atomic.py: a
temporary file in the same folder, fsync, rename, fsync the folder), so the folder always holds either
the previous snapshot or the new one, whole. It holds:

- ``weights/NODE/NAME`` and ``state/NODE/NAME``: the network;
- ``extra/solver/NODE/NAME/SLOT``: the solver's memory, ``v`` (sgd, nesterov), ``s`` (adagrad, rmsprop), ``s``
  and ``u`` (adadelta) or ``m`` and ``s`` (adam);
- metadata ``"snapshot"``::

      {"format": "graphnn-snapshot/1", "iteration": 300, "solver_t": 300,
       "rng": {...},             # the dropout generator: numpy's bit_generator.state
       "batcher": {...},         # the data position: Batcher.state_dict()
       "window": [s, a, n],      # loss sum, accuracy sum, count of the display window in progress
       "recent": [...],          # with average_loss N only: the last min(N, iteration) iterations' losses
       "records": 34,            # lines of metrics.jsonl written so far
       "elapsed": 12.5,          # seconds trained so far (wall clock; not part of the result)
       "threads": {"blas": 4, "env": {"OMP_NUM_THREADS": "4", ...}},  # the BLAS thread count (threads())
       "settings": {...},        # the run's settings, without data_dir and snapshot_interval
       "callbacks": {...}}       # the callbacks' state: Epochs.state_dict() (graphnn/train/callbacks.py)
- ``extra/callbacks/INDEX.weights|state/NODE/NAME``: arrays a callback keeps (EarlyStopping's best weights).

The settings are recorded as the run started: a learning rate ReduceLROnPlateau lowered is the callbacks'
state, put back when they are.

Every field is checked for its type and range before anything is restored (``verify``, ``restore``): the
iteration within the run, the solver's update count equal to it, the data position the one that many
batches reach (an epoch of 10**30 is refused), finite non-negative seconds, a window of finite sums, and
exactly the solver slots this run's solver keeps (a snapshot whose solver state was removed, its checksum
recomputed, is refused: resuming it would silently restart momentum or Adam's moments at zero).

Resuming under another BLAS thread count than the run's gives results that differ in the last bits (BLAS
splits its sums by thread), so the count is recorded (threadpoolctl's when installed, else the
OMP/OPENBLAS/MKL_NUM_THREADS variables) and a resume under another one says so in one line (``thread_note``;
``graphnn run --resume`` prints it as a note): the run goes on, but is not bit-identical to an unstopped one.

A snapshot is built from ``Trainer.state_dict()`` (iteration, window, elapsed, generator, batcher and the
solver's ``state_dict()``) and the network's arrays, and restored through ``Trainer.load_state_dict``.
A run resumed from a snapshot gives bit-identical weights and metrics records (all but "elapsed") to one
never stopped, on the same machine: every number the loop carries is restored exactly. Resuming checks
that the model and settings are the snapshot's; a difference is refused, naming the first one. The
snapshot's model holds relative data paths as seen from the run folder (graphnn/datasets/split.py), so
``Run.resume(folder)`` finds the run's data from the snapshot alone.

Snapshots are written every ``train.snapshot_interval`` iterations (or ``--snapshot-interval``), after
the last iteration, and when a stop signal arrives (graphnn/train/signals.py). A snapshot never holds NaN or
infinity: the divergence guard stops a run before its weights could, and writing checks again.
"""

import json
import math
from pathlib import Path

from graphnn.datasets.split import rebased
from graphnn.errors import BundleError, GraphnnError
from graphnn.io.bundle import Bundle, load_bundle, save_bundle
from graphnn.model.jsontext import pointer
from graphnn.train.guard import check_finite_arrays
from graphnn.train.settings import complete_record, settings_record
from graphnn.train.signals import Interrupted
from graphnn.train.solvers import SLOTS

SNAPSHOT = "snapshot.gnn"
FORMAT = "graphnn-snapshot/1"
_FIELDS = {"format": str, "iteration": int, "solver_t": int, "rng": dict, "batcher": dict, "window": list,
           "records": int, "elapsed": float, "settings": dict}
MAX_ELAPSED = 1e9  # seconds (31 years): more is not a run's


def threads():
    """The BLAS thread count this process computes with: {"blas": N or None, "env": {variable: value or None}}
    (N from threadpoolctl when it is installed, else None)."""
    import os

    from graphnn.train.mpilaunch import THREAD_VARIABLES

    count = None
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
        count = max(counts) if counts else None
    return {"blas": count, "env": {name: os.environ.get(name) for name in THREAD_VARIABLES}}


def thread_note(bundle):
    """One line when this process's BLAS threads differ from those the snapshot was written with, else None."""
    saved, now = bundle.metadata["snapshot"].get("threads"), threads()
    if saved is None or saved == now:
        return None
    def said(record):
        env = ", ".join(f"{k}={v}" for k, v in record["env"].items() if v is not None) or "no thread variables"
        return f"{record['blas']} BLAS threads ({env})" if record["blas"] is not None else env
    return (f"note: the snapshot was written with {said(saved)}, this process has {said(now)}: the resumed run "
            "goes on, but its numbers may differ in the last bits from a run never stopped")


def snapshot_path(folder):
    return Path(folder) / SNAPSHOT


def capture(trainer, records, folder=None, callbacks=None):
    """The snapshot Bundle of ``trainer``'s state; ``records`` is the count of metrics lines written,
    ``folder`` the one the snapshot is for (its model's relative data paths are re-expressed from there),
    ``callbacks`` the run's callbacks.Epochs, whose state it keeps."""
    network, state = trainer.network, trainer.state_dict()
    check_finite_arrays(network.weights, "weight")
    check_finite_arrays(network.state, "state")
    extra = {}
    for node, weights in state["solver"]["slots"].items():
        for name, slots in weights.items():
            check_finite_arrays({node: {f"{name}/{slot}": array for slot, array in slots.items()}}, "solver state")
            for slot, array in slots.items():
                extra[f"extra/solver/{node}/{name}/{slot}"] = array
    loss_sum, accuracy_sum, count = state["window"]
    settings = settings_record(trainer.settings)
    metadata = {"snapshot": {
        "format": FORMAT, "iteration": state["iteration"], "solver_t": state["solver"]["t"],
        "rng": state["rng"], "batcher": state["batcher"], "window": [float(loss_sum), float(accuracy_sum), int(count)],
        "records": records, "elapsed": float(state["elapsed"]), "threads": threads(), "settings": settings}}
    if state["recent"] is not None:  # average_loss: the losses the displayed mean is over
        metadata["snapshot"]["recent"] = [float(loss) for loss in state["recent"]]
    if callbacks is not None:
        metadata["snapshot"]["callbacks"] = callbacks.state_dict()
        if callbacks.start_lr is not None:  # as the run started; the callbacks' state says what it is now
            settings["lr"]["base_lr"] = callbacks.start_lr
        for key, array in callbacks.state_arrays().items():
            extra[f"extra/callbacks/{key}"] = array
    model = trainer.model if folder is None else rebased(trainer.model, folder)
    return Bundle(model, network.weights, network.state, metadata, extra)


def write(folder, trainer, records, callbacks=None):
    """Write ``trainer``'s snapshot (with the state of ``callbacks``, an Epochs) to ``folder``/snapshot.gnn
    atomically; returns its path."""
    path = snapshot_path(folder)
    save_bundle(path, capture(trainer, records, folder, callbacks))
    return path


def remove_stale_temporaries(folder):
    """Delete temporary files that a killed writer left behind (atomic.write_atomic names them
    ``.NAME.<random>.tmp``); the snapshot itself is never touched."""
    for path in Path(folder).glob(f".{SNAPSHOT}.*.tmp"):
        path.unlink(missing_ok=True)


def read(folder):
    """The verified snapshot Bundle in ``folder``: a BundleError naming the file when it is missing,
    damaged, or not a consistent snapshot."""
    path = snapshot_path(folder)
    if not path.is_file():
        raise BundleError(f"no snapshot to resume from (expected {SNAPSHOT} in the run folder)", file=str(path))
    return verify(load_bundle(path), str(path))


def verify(bundle, file=None):
    """Check that a loaded bundle is a consistent snapshot; returns it. (Sizes, checksum and weights are
    already checked by the bundle loader.)"""
    def fail(message, path="/metadata/snapshot"):
        raise BundleError(f"not a consistent snapshot: {message}", file=file, path=path)

    info = bundle.metadata.get("snapshot")
    if not isinstance(info, dict):
        fail("metadata has no snapshot section")
    for key, kind in _FIELDS.items():
        value = info.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is int and value < 0):
            fail(f"{key} must be {'a non-negative integer' if kind is int else 'a ' + kind.__name__}; got {value!r}",
                 pointer(["metadata", "snapshot", key]))
    if info["format"] != FORMAT:
        fail(f"format is {info['format']!r}; expected {FORMAT!r}")
    window = info["window"]
    if len(window) != 3 or not all(type(v) is float and math.isfinite(v) for v in window[:2]) \
            or type(window[2]) is not int or not 0 <= window[2] <= info["iteration"] \
            or not 0 <= window[1] <= window[2]:
        fail(f"window must be [finite loss sum, accuracy sum in [0, count], count in [0, iteration]]; got "
             f"{window!r}", "/metadata/snapshot/window")
    if not (math.isfinite(info["elapsed"]) and 0 <= info["elapsed"] <= MAX_ELAPSED):
        fail(f"elapsed must be seconds in [0, {MAX_ELAPSED:g}]; got {info['elapsed']!r}", "/metadata/snapshot/elapsed")
    recent = info.get("recent", [])
    if not isinstance(recent, list) or len(recent) > info["iteration"] \
            or not all(type(loss) is float and math.isfinite(loss) for loss in recent):
        fail(f"recent must be at most iteration finite losses; got {json.dumps(recent)[:60]}", "/metadata/snapshot/recent")
    if info["solver_t"] != info["iteration"]:
        fail(f"solver_t must equal the iteration ({info['iteration']}: one update per iteration); got "
             f"{info['solver_t']}", "/metadata/snapshot/solver_t")
    recorded = info.get("threads")
    if recorded is not None and not _is_threads(recorded):
        fail(f"threads must be {{blas: an integer >= 1 or null, env: {{variable: a string or null}}}}; got "
             f"{json.dumps(recorded)[:80]}", "/metadata/snapshot/threads")
    if not _is_pcg64_state(info["rng"]):
        fail("rng must be a PCG64 generator state: {bit_generator: 'PCG64', state: {state, inc: integers in "
             "[0, 2**128)}, has_uint32: 0 or 1, uinteger: an integer in [0, 2**32)}", "/metadata/snapshot/rng")
    solver = info["settings"].get("solver")
    solver_type = solver.get("type") if isinstance(solver, dict) and isinstance(solver.get("type"), str) else None
    if not isinstance(info.get("callbacks", {}), dict):
        fail(f"callbacks must be a dict; got {json.dumps(info['callbacks'])[:60]}", "/metadata/snapshot/callbacks")
    for key, array in bundle.extra.items():
        parts = key.split("/")
        if parts[1:2] == ["callbacks"]:
            _verify_callback_array(bundle, key, array, fail)
            continue
        if len(parts) != 5 or parts[1] != "solver" or parts[4] not in SLOTS.get(solver_type, ()):
            fail(f"unexpected array {key!r}; expected extra/solver/NODE/WEIGHT/SLOT with a slot of {solver_type}")
        weight = bundle.weights.get(parts[2], {}).get(parts[3])
        if weight is None or weight.shape != array.shape or weight.dtype != array.dtype:
            fail(f"solver state {key!r} does not match a weight of the same shape and dtype")
    return bundle


def _verify_callback_array(bundle, key, array, fail):
    """A callback's array (extra/callbacks/INDEX.weights|state/NODE/NAME) must be a copy of one of the network's."""
    parts = key.split("/")
    index, _, group = parts[2].partition(".") if len(parts) == 5 else ("", "", "")
    groups = {"weights": bundle.weights, "state": bundle.state}
    if not index.isdigit() or group not in groups:
        fail(f"unexpected array {key!r}; expected extra/callbacks/INDEX.weights|state/NODE/NAME")
    like = groups[group].get(parts[3], {}).get(parts[4])
    if like is None or like.shape != array.shape or like.dtype != array.dtype:
        fail(f"callback state {key!r} does not match a network array of the same shape and dtype")


def callback_state(bundle):
    """(the callbacks' state, {"INDEX.GROUP/NODE/NAME": array}) a verified snapshot keeps; (None, {}) for one
    written before snapshots kept them."""
    arrays = {key[len("extra/callbacks/"):]: array for key, array in bundle.extra.items()
              if key.startswith("extra/callbacks/")}
    return bundle.metadata["snapshot"].get("callbacks"), arrays


def _is_threads(record):
    from graphnn.train.mpilaunch import THREAD_VARIABLES

    if not isinstance(record, dict):
        return False
    blas, env = record.get("blas"), record.get("env")
    return (set(record) == {"blas", "env"} and (blas is None or (type(blas) is int and 1 <= blas <= 1 << 20))
            and isinstance(env, dict) and set(env) == set(THREAD_VARIABLES)
            and all(value is None or (isinstance(value, str) and len(value) <= 20) for value in env.values()))


def _is_pcg64_state(state):
    """Whether ``state`` is exactly what numpy's PCG64 ``bit_generator.state`` gives (numpy itself would
    accept a float ``inc`` and resume from another state)."""
    def integer(value, limit):
        return type(value) is int and 0 <= value < limit

    inner = state.get("state")
    return (set(state) == {"bit_generator", "state", "has_uint32", "uinteger"} and state["bit_generator"] == "PCG64"
            and isinstance(inner, dict) and set(inner) == {"state", "inc"}
            and integer(inner["state"], 2**128) and integer(inner["inc"], 2**128)
            and integer(state["has_uint32"], 2) and integer(state["uinteger"], 2**32))


def _first_difference(old, new, path=""):
    """JSON pointer of the first place where two JSON values differ, or None when they are equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [key for key in new if key not in old]:
            if key not in old or key not in new:
                return path + pointer([key])
            found = _first_difference(old[key], new[key], path + pointer([key]))
            if found is not None:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            found = _first_difference(a, b, f"{path}/{index}")
            if found is not None:
                return found
        return None
    same = old == new and type(old) is type(new)
    return None if same else (path or "/")


def _value_at(document, path):
    for part in path.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict):
            document = document.get(part, "(absent)")
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return "(absent)"
    return json.dumps(document)[:60]


def check_same_run(bundle, trainer, file):
    """Refuse to resume ``trainer`` from a snapshot made with another model or other settings. The model is
    compared as the snapshot's folder sees it (relative data paths from there); a snapshot written before
    paths were re-expressed holds them as the model file does, which is accepted too."""
    info = bundle.metadata["snapshot"]
    ours = trainer.model.document
    if file is not None and _first_difference(_plain(bundle.model.document), _plain(ours)) is not None:
        ours = rebased(trainer.model, Path(file).parent).document
    for what, old, new in (("another model", bundle.model.document, ours),
                           ("other settings", complete_record(info["settings"]), settings_record(trainer.settings))):
        where = _first_difference(_plain(old), _plain(new))
        if where is not None:
            raise GraphnnError(f"cannot resume: the snapshot was made with {what}: at {where} it has "
                               f"{_value_at(old, where)}, this run {_value_at(new, where)}", file=file)


def _plain(value):
    """``value`` as JSON reads it back (tuples become lists)."""
    return json.loads(json.dumps(value))


def restore(trainer, bundle, file=None):
    """Put a verified snapshot's state into ``trainer`` (built from the same model and settings), through
    ``Trainer.load_state_dict``; returns the snapshot's metadata."""
    check_same_run(bundle, trainer, file)
    info = bundle.metadata["snapshot"]
    if info["iteration"] > trainer.settings.iterations:
        raise BundleError(f"snapshot is at iteration {info['iteration']}, past the run's "
                          f"{trainer.settings.iterations}", file=file, path="/metadata/snapshot/iteration")
    position, batch = info["batcher"], trainer.settings.samples_per_iteration
    drawn = position.get("epoch", 0) * position.get("samples", 0) + position.get("cursor", 0) \
        if all(type(position.get(k)) is int for k in ("epoch", "samples", "cursor")) else None
    if drawn != info["iteration"] * batch:
        raise BundleError(f"snapshot's data position (epoch {position.get('epoch')!r}, cursor "
                          f"{position.get('cursor')!r}) is not where {info['iteration']} batches of {batch} reach",
                          file=file, path="/metadata/snapshot/batcher")
    held = {tuple(key.split("/")[2:]) for key in bundle.extra if key.startswith("extra/solver/")}
    kept = {(node, name, slot) for node, weights in trainer.solver.state.items()
            for name, slots in weights.items() for slot in slots} if info["solver_t"] else set()
    missing = sorted(kept - held)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise BundleError(f"snapshot lacks the {trainer.solver.type} solver's memory: extra/solver/"
                          f"{'/'.join(missing[0])}{more}; it cannot resume as the run would have gone on",
                          file=file, path="/extra")
    network = trainer.network
    for groups, saved in ((network.weights, bundle.weights), (network.state, bundle.state)):
        for node, arrays in saved.items():
            for name, array in arrays.items():
                if array.dtype != groups[node][name].dtype:
                    raise BundleError(f"snapshot holds {array.dtype} arrays; this run uses {groups[node][name].dtype}",
                                      file=file, node=node)
    slots = {}
    for key, array in bundle.extra.items():
        if not key.startswith("extra/solver/"):
            continue
        _, _, node, name, slot = key.split("/")
        slots.setdefault(node, {}).setdefault(name, {})[slot] = array
    recent, average = info.get("recent"), trainer.settings.average_loss
    if average is not None and len(recent or ()) != min(info["iteration"], average):
        raise BundleError(f"snapshot holds {len(recent or ())} recent losses; average_loss {average} at iteration "
                          f"{info['iteration']} keeps {min(info['iteration'], average)}", file=file,
                          path="/metadata/snapshot/recent")
    state = {"iteration": info["iteration"], "window": info["window"], "elapsed": info["elapsed"],
             "rng": info["rng"], "batcher": info["batcher"], "solver": {"t": info["solver_t"], "slots": slots},
             "recent": recent}
    try:
        trainer.load_state_dict(state)
    except GraphnnError as error:
        raise error.located(file=file, path="/metadata/snapshot" + (error.path or ""))
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise BundleError(f"snapshot's generator state cannot be restored: {error}", file=file,
                          path="/metadata/snapshot/rng") from None
    for groups, saved in ((network.weights, bundle.weights), (network.state, bundle.state)):
        for node, arrays in saved.items():
            for name, array in arrays.items():
                groups[node][name][...] = array  # in place: whatever holds the arrays (the store) keeps them
    return info


class Checkpointer:
    """The Trainer's checkpoint hook for a run folder: writes snapshots at the interval and after the
    last iteration, and on a stop signal writes one and raises signals.Interrupted. ``callbacks``: the run's
    callbacks.Epochs, whose state each snapshot keeps."""

    def __init__(self, folder, directory, stop=None, callbacks=None):
        self.folder, self.directory, self.stop, self.callbacks = Path(folder), directory, stop, callbacks
        self.last = None  # iteration of the last snapshot written
        remove_stale_temporaries(self.folder)

    def write(self, trainer):
        self.directory.sync()
        path = write(self.folder, trainer, self.directory.count, self.callbacks)
        self.last = trainer.iteration
        return path

    def __call__(self, trainer):
        interval = trainer.settings.snapshot_interval
        due = (interval and trainer.iteration % interval == 0) or trainer.iteration == trainer.settings.iterations \
            or trainer.stopping
        if due or (self.stop is not None and self.stop.signal is not None):
            path = self.write(trainer)
            if self.stop is not None and self.stop.signal is not None:
                raise Interrupted(self.stop.signal, trainer.iteration, path)
