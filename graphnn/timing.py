"""Where a training iteration's time and memory go, node by node, like ``caffe time``.

    report = time_model(model, batch_size=100, iterations=20)
    print(format_report(report))

One batch of random data is fed the way training feeds MNIST: uint8 samples converted to floats
(``graphnn/train/feeding.py``) and random class labels. Each iteration runs forward in training mode, backward,
and the model's solver update (at learning rate 0, so that the weights stay as they are while the update
costs what it always costs). The first iteration only warms up (allocator, BLAS threads); the report
averages the next ``iterations``.

Memory is counted in bytes of arrays, per node: its ``output``, its ``cache`` (what it keeps for backward,
not counting arrays that are already some node's output or a view of one, nor views of the parameter
store's buffers) and its weight ``grads`` (its part of the store's gradient buffer). The totals count every
buffer once, so the memory total is what one iteration holds at the end of backward.
"""

import math
import time
from dataclasses import dataclass

import numpy as np

from graphnn.errors import DataError
from graphnn.executor import Network
from graphnn.model.limits import check_batch_size
from graphnn.train.feeding import feeds

UPDATE_LR = 0.0


@dataclass
class NodeCost:
    name: str
    op: str
    out_shape: tuple
    forward_s: float = 0.0  # average seconds per iteration
    backward_s: float = 0.0
    output_bytes: int = 0
    cache_bytes: int = 0
    grad_bytes: int = 0


@dataclass
class TimingReport:
    model: str
    batch_size: int
    iterations: int
    dtype: str
    nodes: list
    feed_s: float  # converting the batch (uint8 -> float, labels)
    update_s: float  # the solver's update of every weight; 0.0 without a train section
    solver: str
    memory_bytes: int  # distinct buffers held by outputs, caches and gradients

    @property
    def forward_s(self):
        return sum(node.forward_s for node in self.nodes)

    @property
    def backward_s(self):
        return sum(node.backward_s for node in self.nodes)

    @property
    def iteration_s(self):
        return self.feed_s + self.forward_s + self.backward_s + self.update_s

    def as_dict(self):
        return {"model": self.model, "batch_size": self.batch_size, "iterations": self.iterations,
                "dtype": self.dtype, "solver": self.solver,
                "nodes": [vars(node) | {"out_shape": list(node.out_shape)} for node in self.nodes],
                "feed_s": self.feed_s, "forward_s": self.forward_s, "backward_s": self.backward_s,
                "update_s": self.update_s, "iteration_s": self.iteration_s, "memory_bytes": self.memory_bytes,
                "samples_per_s": self.batch_size / self.iteration_s if self.iteration_s else None}


def random_batch(plan, batch_size, rng):
    """A batch as a dataset gives it: uint8 samples for each ``x`` node, class indices for ``y``."""
    batch, reader = {}, {}
    for step in plan.inputs:
        field = step.op.params["field"]
        if field in reader and math.prod(reader[field].out_shape) != math.prod(step.out_shape):
            raise DataError(f"data nodes '{reader[field].name}' {list(reader[field].out_shape)} and "
                            f"'{step.name}' {list(step.out_shape)} both read field '{field}', but one sample "
                            "cannot fill both; give one of them another field (a label: \"field\": \"y\")",
                            node=step.name)
        reader.setdefault(field, step)
        if field == "y":
            batch["y"] = rng.integers(0, _classes(plan, step), batch_size)
        else:
            batch[field] = rng.integers(0, 256, (batch_size, *step.out_shape), dtype=np.uint8)
    return batch


def _classes(plan, label_step):
    """How many classes a label node ranges over: its one-hot width, or its loss's prediction width."""
    if label_step.out_shape:
        return label_step.out_shape[0]
    for step in plan.losses:
        if label_step.name in step.inputs:
            return step.in_shapes[0][0]
    return 10


def _owner(array):
    """The array that owns ``array``'s memory (itself unless it is a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _arrays(value):
    """Every ndarray inside a value or cache (tuples, lists and dicts are walked)."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _arrays(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item)


def _new_bytes(value, seen):
    """Bytes of the buffers in ``value`` not yet in ``seen`` (ids of owning arrays), which it extends."""
    total = 0
    for array in _arrays(value):
        owner = _owner(array)
        if id(owner) not in seen:
            seen.add(id(owner))
            total += owner.nbytes
    return total


def time_model(model, batch_size=None, iterations=10, seed=0, dtype=None, network=None):
    """A TimingReport of ``iterations`` training iterations on one random batch of ``batch_size``."""
    from graphnn.train.solvers import Solver

    train = model.train or {}
    where = "--batch-size" if batch_size else "batch_size"
    batch_size = batch_size or train.get("batch_size", 64)
    dtype = dtype or train.get("dtype", "float32")
    check_batch_size(batch_size, model.plan, dtype, where)  # before the batch is allocated
    network = network or Network.initialise(model, seed=seed, dtype=dtype)
    plan = model.plan
    rng = np.random.default_rng(seed)
    batch = random_batch(plan, batch_size, rng)
    solver = Solver(train["solver"], network.store) if "solver" in train else None
    forward_s, backward_s = {}, {}
    feed_s = update_s = 0.0
    for iteration in range(iterations + 1):
        if iteration == 1:  # the first iteration only warms up
            forward_s.clear()
            backward_s.clear()
            feed_s = update_s = 0.0
        started = time.perf_counter()
        fed = feeds(plan, batch, network.dtype)
        feed_s += time.perf_counter() - started
        result = network.forward(fed, train=True, rng=rng, timings=forward_s)
        grads = network.backward(result, timings=backward_s)
        if solver is not None:
            started = time.perf_counter()
            solver.step(UPDATE_LR)
            update_s += time.perf_counter() - started
    nodes = []
    store = network.store
    seen = {id(flat) for flat in (store.weight_flat, store.grad_flat, store.state_flat)}
    for step in plan.steps:
        node = NodeCost(step.name, step.op.name, step.out_shape,
                        forward_s.get(step.name, 0.0) / iterations, backward_s.get(step.name, 0.0) / iterations)
        node.output_bytes = _new_bytes(result.values[step.name], seen)
        nodes.append(node)
    for node in nodes:
        node.cache_bytes = _new_bytes(result.caches.get(node.name), seen)
        node.grad_bytes = sum(g.nbytes for g in grads.get(node.name, {}).values())  # its part of the store
    memory = sum(node.output_bytes + node.cache_bytes + node.grad_bytes for node in nodes)
    return TimingReport(model.name, batch_size, iterations, str(network.dtype), nodes, feed_s / iterations,
                        update_s / iterations, solver.type if solver else "-", memory)


def format_report(report):
    """The report as a table: one row per node, then the feed, update and total rows."""

    def ms(seconds):
        return f"{seconds * 1e3:.3f}" if seconds else "-"

    def kib(count):
        return f"{count / 1024:,.1f}" if count else "-"

    rows = [("node", "op", "output", "forward ms", "backward ms", "output KiB", "cache KiB", "grads KiB")]
    for node in report.nodes:
        rows.append((node.name, node.op, str(node.out_shape), ms(node.forward_s), ms(node.backward_s),
                     kib(node.output_bytes), kib(node.cache_bytes), kib(node.grad_bytes)))
    rows.append(("total", "", f"{len(report.nodes)} nodes", ms(report.forward_s), ms(report.backward_s),
                 kib(sum(n.output_bytes for n in report.nodes)), kib(sum(n.cache_bytes for n in report.nodes)),
                 kib(sum(n.grad_bytes for n in report.nodes))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    title = (f"{report.model}: batch {report.batch_size}, {report.dtype}, average of {report.iterations} "
             "iterations after one warm-up")
    lines = [title]
    for index, row in enumerate(rows):
        cells = [cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index in (0, len(rows) - 2):
            lines.append("  ".join("-" * w for w in widths))
    rate = report.batch_size / report.iteration_s if report.iteration_s else float("inf")
    lines.append(f"feed (uint8 -> {report.dtype}) {ms(report.feed_s)} ms + forward {ms(report.forward_s)} ms + "
                 f"backward {ms(report.backward_s)} ms + update ({report.solver}) {ms(report.update_s)} ms")
    lines.append(f"iteration: {report.iteration_s * 1e3:.3f} ms ({rate:,.0f} samples/s); "
                 f"memory held: {report.memory_bytes / 2 ** 20:,.2f} MiB")
    return "\n".join(lines)
