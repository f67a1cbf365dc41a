"""graphnn's Trainer against the hand-written NumPy loop in ONE process, blocks of iterations alternating:
a ratio that a busy machine disturbs far less than separate processes do.

    OPENBLAS_NUM_THREADS=1 python benchmarks/interleaved.py mlp784 [--blocks 15] [--iterations 100]
    OPENBLAS_NUM_THREADS=2 python benchmarks/interleaved.py mlp784 --clock wall --blocks 60 --iterations 20

Both train the workload's MLP on MNIST (the same batch size, solver and learning rate; each its own start
and batch order) for ``--blocks`` rounds of ``--iterations`` iterations each, graphnn then the NumPy loop;
the time of each one's fastest block is kept: the process's CPU time (``--clock cpu``, the default: for
one thread), or elapsed time (``--clock wall``: for several BLAS threads, whose CPU seconds add up). On a
busy machine, short blocks (``--iterations 20``) make it likelier that the fastest is undisturbed. Prints
microseconds per iteration and graphnn's speed divided by the loop's (above 1: graphnn is faster).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from numpy_mlp import NumpyMLP
from workloads import WORKLOADS


def main(argv=None):
    from graphnn.datasets import load_split
    from graphnn.model import model_from_dict
    from graphnn.train.loop import Trainer
    from graphnn.train.settings import resolve_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=[name for name, w in WORKLOADS.items() if w.is_mlp])
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--iterations", type=int, default=100, help="iterations per block")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                        help="the process's CPU seconds (one thread) or elapsed seconds (several)")
    parser.add_argument("--data-dir", help="folder holding MNIST (default: graphnn's own lookup)")
    args = parser.parse_args(argv)
    workload = WORKLOADS[args.workload]
    train = load_split({"dataset": "mnist"}, "train", data_dir=args.data_dir).head(workload.train_size)
    model = model_from_dict(workload.document(10**9))
    trainer = Trainer(model, resolve_settings(model, {}), train, None)
    trainer.settings.iterations = 0
    loop = NumpyMLP([784, *workload.hidden, 10], workload.batch_size)
    order = np.random.default_rng(0).permutation(len(train.y))
    batches = len(order) // workload.batch_size
    done = [0]

    def graphnn_block(count):
        trainer.settings.iterations += count
        trainer.run()

    def numpy_block(count):
        for _ in range(count):
            k = done[0] % batches
            index = order[k * workload.batch_size:(k + 1) * workload.batch_size]
            loop.train_step(train.x[index], train.y[index], workload.lr, workload.momentum, workload.weight_decay)
            done[0] += 1

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    best = {"graphnn": float("inf"), "numpy": float("inf")}
    graphnn_block(5), numpy_block(5)  # warm-up
    for _ in range(args.blocks):
        for name, block in (("graphnn", graphnn_block), ("numpy", numpy_block)):
            started = clock()
            block(args.iterations)
            best[name] = min(best[name], (clock() - started) / args.iterations)
    print(f"{args.workload}: graphnn {best['graphnn'] * 1e6:.1f} us/iteration, NumPy loop {best['numpy'] * 1e6:.1f}"
          f" us/iteration; graphnn / NumPy loop speed {best['numpy'] / best['graphnn']:.3f}")


if __name__ == "__main__":
    main()
