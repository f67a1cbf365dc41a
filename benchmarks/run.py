"""graphnn against its peers: the same network, data, batch, solver and iterations, each in its own process.

    python benchmarks/run.py                          # every workload, every installed contender
    python benchmarks/run.py --workloads mlp784 --repeats 5
    python benchmarks/run.py --quick                  # a few iterations: checks the harness, not speed
    python benchmarks/run.py --threads 1 --clock cpu  # one thread each, CPU seconds: for a busy machine
    python benchmarks/run.py --data-dir DIR           # MNIST from DIR (default: graphnn's own lookup)

Contenders: graphnn (its own Trainer and predict), PyTorch on the CPU, scikit-learn's MLPClassifier (MLPs
only) and a hand-written NumPy loop (numpy_mlp.py; MLPs only), each skipped with a note when it is not
installed. PyTorch and the NumPy loop start from graphnn's initial weights and visit the batches in
graphnn's order (start.py), so their accuracies differ from graphnn's by rounding, not by luck; scikit-learn
draws its own. Every (workload, contender) runs ``--repeats`` times, round-robin, each time in a fresh process
(``contenders.py``); the table shows the best throughput of the repeats (the run least disturbed by the
rest of the machine), the largest peak RSS, and the accuracy of the last run. Ratios are graphnn's
throughput divided by the contender's: above 1 graphnn is faster.

The child processes get ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` removed from their environment
(set on some machines, they make OpenBLAS pick slower kernels); the kernel threadpoolctl reports is in
the JSON. Every contender gets ``--threads`` threads (default: the machine's cores): PyTorch through
``torch.set_num_threads``, OpenBLAS and OpenMP through ``OPENBLAS_NUM_THREADS`` and ``OMP_NUM_THREADS``.
Results go to the terminal as a table and to ``--json`` (default benchmarks/results/latest.json).
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from contenders import CAN_RUN, CONTENDERS, MODULES
from workloads import DEFAULT, WORKLOADS

ORDER = ("graphnn", "pytorch", "sklearn", "numpy")
STARTS_TOGETHER = ("pytorch", "numpy")  # start from graphnn's initial weights and batch order (start.py)
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def child_environment(threads):
    """The environment of a contender's process: OpenBLAS tuning variables removed, graphnn importable."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_child(contender, workload, quick, threads, timeout, clock="wall", start=None, data_dir=None):
    """One contender process; its JSON result, or {"error": ...}."""
    command = [sys.executable, str(HERE / "contenders.py"), contender, workload, "--threads", str(threads),
               "--clock", clock]
    if data_dir:
        command += ["--data-dir", str(data_dir)]
    if start and contender in STARTS_TOGETHER:
        command += ["--start", str(start)]
    if quick:
        command.append("--quick")
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, env=child_environment(threads),
                              timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def write_start(workload, quick, folder):
    """start.py's .npz for ``workload`` in ``folder``; None (each contender starts on its own) if it fails."""
    path = Path(folder) / f"{workload}.npz"
    command = [sys.executable, str(HERE / "start.py"), workload, str(path)] + (["--quick"] if quick else [])
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=child_environment(1), cwd=REPO)
    return path if done.returncode == 0 else None


def others_running():
    """How many other tasks are runnable right now (/proc/loadavg's running count, less this process)."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        return 0


def wait_quiet(limit):
    """Wait up to ``limit`` seconds for the machine to be quiet: no other runnable task in 3 samples
    0.5 s apart. Returns the seconds waited, or None when it never got quiet."""
    waited, quiet = 0.0, 0
    while waited < limit:
        quiet = quiet + 1 if others_running() <= 0 else 0
        if quiet >= 3:
            return waited
        time.sleep(0.5)
        waited += 0.5
    return None


def installed(contender):
    module = MODULES.get(contender)
    return module is None or importlib.util.find_spec(module) is not None


def machine():
    """Where this ran: CPU model, cores, load, Python and library versions."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "torch", "scikit-learn", "threadpoolctl"):
        try:
            versions[name] = importlib.metadata.version(name)  # without importing: this process stays small
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average": os.getloadavg(), "versions": versions,
            "unset_in_children": {key: os.environ[key] for key in UNSET if key in os.environ}}


def summarise(runs):
    """Per contender: best throughputs over its repeats, largest peak RSS, last accuracy."""
    ok = [run for run in runs if "error" not in run]
    if not ok:
        return {"error": runs[-1]["error"]}
    best_train = max(ok, key=lambda run: run["train_samples_per_s"])
    return {
        "train_samples_per_s": best_train["train_samples_per_s"],
        "infer_samples_per_s": max(run["infer_samples_per_s"] for run in ok),
        "peak_rss_mb": max(run["peak_rss"] for run in ok) / 2 ** 20,
        "accuracy": ok[-1]["accuracy"],
        "train_samples_per_s_all": [round(run["train_samples_per_s"]) for run in ok],
        "iterations": best_train["iterations"], "batch_size": best_train["batch_size"],
        "blas": best_train.get("blas"), "versions": best_train.get("versions"),
    }


def add_ratios(results):
    """graphnn's throughput / each contender's (> 1: graphnn is faster), per workload."""
    for contenders in results.values():
        mine = contenders.get("graphnn", {})
        for summary in contenders.values():
            for key in ("train", "infer"):
                ours, theirs = mine.get(f"{key}_samples_per_s"), summary.get(f"{key}_samples_per_s")
                summary[f"graphnn_{key}_ratio"] = ours / theirs if ours and theirs else None


def table(results):
    """The results as a plain-text table."""
    header = ("workload", "contender", "train samples/s", "graphnn/it", "infer samples/s", "graphnn/it",
              "peak RSS MB", "accuracy")
    rows = [header]
    for workload, contenders in results.items():
        for contender in ORDER:
            if contender not in contenders:
                continue
            s = contenders[contender]
            if "error" in s or "skipped" in s:
                rows.append((workload, contender, s.get("error") or s["skipped"], "", "", "", "", ""))
                continue

            def ratio(value):
                return f"{value:.2f}x" if value else "-"

            rows.append((workload, contender, f"{s['train_samples_per_s']:,.0f}", ratio(s["graphnn_train_ratio"]),
                         f"{s['infer_samples_per_s']:,.0f}", ratio(s["graphnn_infer_ratio"]),
                         f"{s['peak_rss_mb']:,.0f}", f"{100 * s['accuracy']:.2f}%"))
    widths = [max(len(row[i]) for row in rows if row[3] or i < 2) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        if not row[3] and index:  # an error or skip note spans the remaining columns
            lines.append(f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}")
            continue
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(results):
    """The same table in Markdown, for docs/performance.md."""
    header = ("| workload | contender | train samples/s | graphnn ÷ it | infer samples/s | graphnn ÷ it | "
              "peak RSS MB | test accuracy |")
    lines = [header, "|---|---|--:|--:|--:|--:|--:|--:|"]
    for workload, contenders in results.items():
        for contender in ORDER:
            s = contenders.get(contender)
            if s is None:
                continue
            if "error" in s or "skipped" in s:
                lines.append(f"| {workload} | {contender} | {s.get('error') or s['skipped']} | | | | | |")
                continue
            ratio = [f"{s[key]:.2f}x" if s[key] else "-" for key in ("graphnn_train_ratio", "graphnn_infer_ratio")]
            lines.append(f"| {workload} | {contender} | {s['train_samples_per_s']:,.0f} | {ratio[0]} | "
                         f"{s['infer_samples_per_s']:,.0f} | {ratio[1]} | {s['peak_rss_mb']:,.0f} | "
                         f"{100 * s['accuracy']:.2f}% |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(DEFAULT), help=f"comma-separated, from {', '.join(WORKLOADS)}")
    parser.add_argument("--contenders", default=",".join(ORDER), help=f"comma-separated, from {', '.join(ORDER)}")
    parser.add_argument("--repeats", type=int, default=None, help="processes per (workload, contender); default 3, "
                                                                   "1 with --quick")
    parser.add_argument("--quick", action="store_true", help="a few iterations and a small test set")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of every contender (default: the cores)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed to one contender process")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time elapsed seconds (default) or CPU seconds (robust on a busy machine; use --threads 1)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before each process, wait up to this long for no other runnable task")
    parser.add_argument("--data-dir", help="folder holding MNIST (default: graphnn's own lookup, which fetches it)")
    parser.add_argument("--json", default=str(HERE / "results" / "latest.json"), help="where to write the JSON")
    parser.add_argument("--markdown", action="store_true", help="also print the table in Markdown")
    args = parser.parse_args(argv)
    workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    contenders = [name.strip() for name in args.contenders.split(",") if name.strip()]
    for name in workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")
    for name in contenders:
        if name not in CONTENDERS:
            parser.error(f"unknown contender {name!r}; known: {', '.join(ORDER)}")
    repeats = args.repeats or (1 if args.quick else 3)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join([Path(sys.executable).name, "benchmarks/run.py", *(argv or sys.argv[1:])]),
              "quick": args.quick, "repeats": repeats, "threads": args.threads, "clock": args.clock, "machine": machine(),
              "results": {}, "runs": []}
    scratch = tempfile.mkdtemp(prefix="graphnn-bench-")
    for workload in workloads:
        reason = WORKLOADS[workload].available()
        chosen, per_contender = [], {}
        for contender in contenders:
            can = CAN_RUN[contender]
            if reason:
                per_contender[contender] = {"skipped": reason}
            elif can is not None and not can(WORKLOADS[workload]):
                continue
            elif not installed(contender):
                per_contender[contender] = {"skipped": f"{MODULES[contender]} is not installed (pip install -e '.[bench]')"}
            else:
                chosen.append(contender)
        runs = {contender: [] for contender in chosen}
        start = write_start(workload, args.quick, scratch) if chosen else None
        for repeat in range(repeats):
            rotation = chosen[repeat % len(chosen):] + chosen[:repeat % len(chosen)] if chosen else []
            for contender in rotation:
                waited = wait_quiet(args.wait_quiet) if args.wait_quiet else 0.0
                print(f"[{workload} {repeat + 1}/{repeats}] {contender} ...", file=sys.stderr, flush=True)
                load = os.getloadavg()[0]
                result = run_child(contender, workload, args.quick, args.threads, args.timeout, args.clock, start,
                                   args.data_dir)
                result.update(load_before=load, load_after=os.getloadavg()[0], quiet_wait=waited)
                if "error" in result:
                    print(f"  {contender} failed: {result['error']}", file=sys.stderr)
                runs[contender].append(result)
                report["runs"].append({"workload": workload, "repeat": repeat, **result, "contender": contender})
        for contender in chosen:
            per_contender[contender] = summarise(runs[contender])
        report["results"][workload] = per_contender
    shutil.rmtree(scratch, ignore_errors=True)
    add_ratios(report["results"])
    report["machine"]["load_average_after"] = os.getloadavg()
    print(table(report["results"]))
    if args.markdown:
        print()
        print(markdown(report["results"]))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {path}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
