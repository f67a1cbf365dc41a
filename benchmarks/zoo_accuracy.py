"""The zoo's small ResNets trained as their model files say, against their accuracy targets (DESIGN.md: at
least 0.99 on MNIST, 0.91 on Fashion-MNIST); too long for the test suite on two cores, so measured here.

    python benchmarks/zoo_accuracy.py [resnet-mnist] [resnet-fashion] [--threads 2] [--data-dir DIR]

Each model trains in a process of its own (``graphnn run``'s Run, its file's train and test sections, the seed
in the file), then prints one JSON line: test accuracy, the target, training seconds and samples/s. Exit 1
when a model misses its target. MNIST comes from graphnn's lookup (or --data-dir); Fashion-MNIST from its
lookup too (Debian's dataset-fashion-mnist installs it in /usr/share/datasets/fashion-mnist).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

TARGETS = {"resnet-mnist": 0.99, "resnet-fashion": 0.91}


def train(name, data_dir):
    """Train zoo model ``name`` in this process; the JSON record."""
    from graphnn.model import load_model
    from graphnn.train.run import Run

    with tempfile.TemporaryDirectory() as folder:
        overrides = {"data_dir": data_dir} if data_dir and name == "resnet-mnist" else {}
        summary = Run(load_model(name), overrides, folder).train()
    train, test = summary["train"], summary["test"]
    return {"model": name, "accuracy": test["accuracy"], "target": TARGETS[name],
            "met": bool(test["accuracy"] >= TARGETS[name]), "iterations": train["iterations"],
            "train_seconds": train["seconds"], "train_samples_per_s": train["samples_per_s"],
            "threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"of {', '.join(TARGETS)} (default: both)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", help="folder holding MNIST (default: graphnn's own lookup)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [name for name in args.models if name not in TARGETS]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; choose from {', '.join(TARGETS)}")
    if args.child:
        print(json.dumps(train(args.models[0], args.data_dir)))
        return 0
    missed = 0
    for name in args.models or list(TARGETS):
        environment = {**os.environ, **{key: str(args.threads) for key in
                                        ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
        command = [sys.executable, __file__, name, "--child"] + (["--data-dir", args.data_dir] if args.data_dir else [])
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(json.dumps({"model": name, "error": result.stderr.strip().splitlines()[-1:]}))
            missed += 1
            continue
        record = json.loads(result.stdout.strip().splitlines()[-1])
        print(json.dumps(record))
        missed += not record["met"]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
