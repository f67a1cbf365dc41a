"""Scaling of data-parallel training (graphnn run --distributed) from 1 to K ranks on this machine.

    python benchmarks/distributed.py --data-dir ../shared/data/mnist                  # 1 and 2 ranks
    python benchmarks/distributed.py --data-dir DIR --ranks 1 2 4 --repeats 5 --batch-size 200

For each model (mlp784, 784-50-50-10; wide, 784-1024-1024-10; both tanh, MNIST, momentum SGD) it runs
``graphnn run`` as:

- ``1 process``: a plain run, BLAS free to use every core;
- ``K ranks``: ``mpiexec -n K graphnn run --distributed``, each rank's BLAS given cores // K threads.

Each configuration runs ``--repeats`` times, round-robin; the table shows the best throughput (the run
least disturbed by the rest of the machine): training samples per second over the whole global batch, as
graphnn reports it, the speed-up over the plain run, and the share of rank 0's training time spent in the
gradient allreduce (waiting for slower ranks included), from rank 0's last line.
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
ITERATIONS = {"mlp784": 800, "wide": 60}


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
    """(samples/s, allreduce share or None) of one run."""
    common = ["run", str(model), "--data-dir", args.data_dir, "--out", str(out), "--iterations",
              str(args.iterations or ITERATIONS[model.stem]), "--batch-size", str(args.batch_size)]
    if ranks == 0:
        command = CLI + common
    else:
        command = [mpiexec(), "-n", str(ranks)] + CLI + common + ["--distributed"]
    env = {key: value for key, value in os.environ.items()
           if key not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    rate = json.loads((out / "summary.json").read_text())["train"]["samples_per_s"]
    share = re.search(r"in it \(([\d.]+)%\)", result.stderr)
    return rate, float(share.group(1)) / 100 if share else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder holding the MNIST files")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="rank counts to run (default 1 2)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100, help="the global batch (default 100)")
    parser.add_argument("--iterations", type=int, help="default: 800 for mlp784, 60 for wide")
    args = parser.parse_args()
    configurations = [0] + args.ranks  # 0: the plain run
    best = {}
    with tempfile.TemporaryDirectory() as folder:
        models = {name: model_file(folder, name, MODELS[name]) for name in args.models}
        for repeat in range(args.repeats):
            for name, model in models.items():
                for ranks in configurations:
                    rate, share = measure(model, ranks, args, Path(folder) / f"{name}-{ranks}")
                    print(f"repeat {repeat + 1}: {name} {ranks or 'plain'}: {rate:,.0f} samples/s"
                          + (f", allreduce {share:.1%}" if share is not None else ""), file=sys.stderr)
                    if rate > best.get((name, ranks), (0, None))[0]:
                        best[name, ranks] = (rate, share)
    print(f"| model | run | samples/s | speed-up | allreduce share |  (global batch {args.batch_size}, "
          f"best of {args.repeats})")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in args.models:
        plain = best[name, 0][0]
        for ranks in configurations:
            rate, share = best[name, ranks]
            label = "1 process" if ranks == 0 else f"{ranks} rank{'s' if ranks > 1 else ''}"
            print(f"| {name} | {label} | {rate:,.0f} | {rate / plain:.2f} | "
                  f"{'-' if share is None else f'{share:.1%}'} |")


if __name__ == "__main__":
    main()
