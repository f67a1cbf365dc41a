"""The common starting point of a workload: graphnn's initial weights and its batch order, in one .npz.

    python benchmarks/start.py mlp784 OUT.npz [--quick]

run.py writes it once per workload; the NumPy loop and PyTorch start from these weights (``W:<node>``,
``b:<node>``, graphnn's (N_in, N_out) layout for fc, (F, C, kh, kw) for conv2d) and visit the batches in
this order (``order:<epoch>``, the permutation of graphnn's Batcher for that epoch), so that the three
follow the same trajectory up to floating-point rounding and their accuracies can be compared closely.
scikit-learn keeps its own initialisation and shuffling (it cannot be given either).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import WORKLOADS


def write_start(workload, quick, path):
    from graphnn.datasets import Batcher, Split
    from graphnn.executor import Network
    from graphnn.model import model_from_dict

    iterations, train_n, _ = workload.schedule(quick)
    model = model_from_dict(workload.document(iterations))
    network = Network.initialise(model, seed=0, dtype="float32")
    arrays = {f"{name}:{node}": array for node, weights in network.weights.items() for name, array in weights.items()}
    stand_in = Split(np.zeros((train_n, 1), np.uint8), np.zeros(train_n, np.int64), 10, "benchmark")
    batcher = Batcher(stand_in, workload.batch_size, seed=model.train["seed"])
    epochs = -(-iterations * workload.batch_size // train_n)
    for epoch in range(epochs):
        arrays[f"order:{epoch}"] = batcher.permutation(epoch)
    np.savez(path, **arrays)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("out")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    write_start(WORKLOADS[args.workload], args.quick, args.out)


if __name__ == "__main__":
    main()
