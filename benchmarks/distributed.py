"""Scaling of data-parallel training (graphnn run --distributed) from 1 to K ranks on this machine.

    python benchmarks/distributed.py --data-dir ../shared/data/mnist                  # 1 and 2 ranks
    python benchmarks/distributed.py --data-dir DIR --ranks 1 2 4 --repeats 5 --batch-size 200
    python benchmarks/distributed.py --data-dir DIR --components      # the parts of a step, on a busy machine

For each model (mlp784, 784-50-50-10; wide, 784-1024-1024-10; both tanh, MNIST, momentum SGD) it runs
``graphnn run`` as:

- ``1 process``: a plain run, BLAS free to use every core;
- ``1 process, 1 thread``: the same with one BLAS thread (on a busy machine a multi-threaded BLAS can be
  many times slower: its threads wait for each other);
- ``K ranks``: ``mpiexec -n K graphnn run --distributed``, each rank's BLAS given cores // K threads.

Each configuration runs ``--repeats`` times, round-robin; the table shows the best throughput (the run
least disturbed by the rest of the machine): training samples per second over the whole global batch, as
graphnn reports it, the speed-up over the faster plain run, and the share of rank 0's training time spent in the
gradient allreduce (waiting for slower ranks included), from rank 0's last line.

On a machine that others keep busy, whole runs measure mostly the others. ``--components`` measures the
parts instead, each the fastest of many tries (the least disturbed): one training step with one BLAS
thread at the global batch B and at B/K (in one process), and one allreduce of the model's buffer
(gradients + 4 scalars, float32) between K ranks (``mpiexec -n K``). A K-rank step then takes
step(B/K) + allreduce: the table gives that estimate of samples/s, speed-up and allreduce share.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys; from graphnn.cli import main; sys.exit(main())"]
MODELS = {"mlp784": (50, 50), "wide": (1024, 1024)}
ITERATIONS = {"mlp784": 2000, "wide": 100}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
LABELS = {0: "1 process", -1: "1 process, 1 thread"}


def model_file(folder, name, units):
    document = json.loads((REPO / "models" / "mlp784.json").read_text())
    document["name"] = name
    for node in document["nodes"]:
        if node["name"] in ("fc1", "fc2"):
            node["units"] = units[0] if node["name"] == "fc1" else units[1]
    path = Path(folder) / f"{name}.json"
    path.write_text(json.dumps(document))
    return path


def mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def measure(model, ranks, args, out):
    """(samples/s, allreduce share or None) of one run; ``ranks`` 0 is a plain run, -1 one with 1 thread."""
    common = ["run", str(model), "--data-dir", args.data_dir, "--out", str(out), "--overwrite", "--iterations",
              str(args.iterations or ITERATIONS[model.stem]), "--batch-size", str(args.batch_size)]
    if ranks <= 0:
        command = CLI + common
    else:
        command = [mpiexec(), "-n", str(ranks)] + CLI + common + ["--distributed"]
    env = {key: value for key, value in os.environ.items() if key not in THREAD_VARIABLES}
    if ranks == -1:
        env.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    rate = json.loads((out / "summary.json").read_text())["train"]["samples_per_s"]
    share = re.search(r"in it \(([\d.]+)%\)", result.stderr)
    return rate, float(share.group(1)) / 100 if share else None


STEP_CODE = """
import sys, time
from graphnn.model import load_model
from graphnn.train.run import Run
model, batch, steps, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
trainer = Run(load_model(model), {"data_dir": data, "batch_size": batch, "iterations": 1}).trainer
trainer.test_split = None
times = []
for _ in range(steps):
    trainer.settings.iterations = trainer.iteration + 1
    started = time.perf_counter()
    trainer.run()
    times.append(time.perf_counter() - started)
print(min(times[3:]))
"""
ALLREDUCE_CODE = """
import sys, time
import numpy as np
from mpi4py import MPI
comm, size, tries = MPI.COMM_WORLD, int(sys.argv[1]), int(sys.argv[2])
buffer, times = np.ones(size, np.float32), []
for _ in range(tries):
    comm.Barrier()
    started = time.perf_counter()
    comm.Allreduce(MPI.IN_PLACE, buffer)
    times.append(time.perf_counter() - started)
if comm.rank == 0:
    print(min(times[3:]))
"""


def fastest(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.split()[-1])


def components(models, args):
    """Print the estimate of K-rank throughput from the fastest step and allreduce times."""
    one_thread = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
    print(f"| model | run | step ms | allreduce ms | samples/s | speed-up | allreduce share |  (global batch "
          f"{args.batch_size}; fastest of many tries)")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, model in models.items():
        steps = 300 if name == "mlp784" else 60
        size = sum(units * (inputs + 1) for inputs, units in zip((784,) + MODELS[name], MODELS[name] + (10,))) + 4
        base = None
        for ranks in [1] + [k for k in args.ranks if k > 1]:
            step = fastest([sys.executable, "-c", STEP_CODE, str(model), str(args.batch_size // ranks), str(steps),
                            args.data_dir], one_thread)
            reduce = 0.0 if ranks == 1 else fastest([mpiexec(), "-n", str(ranks), sys.executable, "-c",
                                                     ALLREDUCE_CODE, str(size), str(steps)])
            rate = args.batch_size / (step + reduce)
            base = base or rate
            print(f"| {name} | {label(ranks if ranks > 1 else -1)} | {step * 1e3:.2f} | {reduce * 1e3:.2f} | "
                  f"{rate:,.0f} | {rate / base:.2f} | {reduce / (step + reduce):.1%} |")


def label(ranks):
    return LABELS.get(ranks) or f"{ranks} rank{'s' if ranks > 1 else ''}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder holding the MNIST files")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="rank counts to run (default 1 2)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100, help="the global batch (default 100)")
    parser.add_argument("--iterations", type=int, help="default: 2000 for mlp784, 100 for wide")
    parser.add_argument("--components", action="store_true", help="estimate from the fastest step and allreduce")
    args = parser.parse_args()
    if args.components:
        with tempfile.TemporaryDirectory() as folder:
            components({name: model_file(folder, name, MODELS[name]) for name in args.models}, args)
        return
    configurations = [0, -1] + args.ranks
    best = {}
    with tempfile.TemporaryDirectory() as folder:
        models = {name: model_file(folder, name, MODELS[name]) for name in args.models}
        for repeat in range(args.repeats):
            for name, model in models.items():
                for ranks in configurations:
                    rate, share = measure(model, ranks, args, Path(folder) / f"{name}-{ranks}")
                    print(f"repeat {repeat + 1}: {name} {label(ranks)}: {rate:,.0f} samples/s"
                          + (f", allreduce {share:.1%}" if share is not None else ""), file=sys.stderr)
                    if rate > best.get((name, ranks), (0, None))[0]:
                        best[name, ranks] = (rate, share)
    print(f"| model | run | samples/s | speed-up | allreduce share |  (global batch {args.batch_size}, "
          f"best of {args.repeats})")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in args.models:
        plain = max(best[name, 0][0], best[name, -1][0])
        for ranks in configurations:
            rate, share = best[name, ranks]
            print(f"| {name} | {label(ranks)} | {rate:,.0f} | {rate / plain:.2f} | "
                  f"{'-' if share is None else f'{share:.1%}'} |")


if __name__ == "__main__":
    main()
