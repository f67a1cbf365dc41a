"""Inference speed of imported ONNX model-zoo networks against onnxruntime on the CPU, in one run.

    python benchmarks/onnx_inference.py                      # ResNet-50 and VGG-19, batch 8, 224x224, 2 threads
    python benchmarks/onnx_inference.py --threads 1 --repeats 5 --models resnet50
    python benchmarks/onnx_inference.py --json benchmarks/results/onnx_inference.json
    python benchmarks/onnx_inference.py --threads 1 --clock cpu --profile    # and where graphnn's time goes

The networks are the ``light`` model-zoo architectures of the onnx wheel (their weights are ConstantOfShape
nodes), with random weights drawn as ``tools/onnx_conformance.py`` draws them, and their batch made open
(the graph input's leading size a symbol, the Reshape before the classifier keeping axis 0) so that both
runtimes take a batch of ``--batch``. graphnn runs the network its ONNX backend imports
(``graphnn.interop.onnx_backend``: batch norms folded into the convolutions, as onnxruntime folds them);
onnxruntime runs the same file with its default graph optimisations, ``intra_op_num_threads=--threads``
and one inter-op thread; NumPy's BLAS gets ``--threads`` threads (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS,
set before NumPy loads: the script re-executes itself to set them). Each repeat times one batch in each
runtime, alternating, after one warm-up run each; the table shows the best time of the repeats (the run
least disturbed by the rest of the machine) and the ratio, graphnn's images per second over onnxruntime's:
the goal is at least 0.5 at two threads. The logits before the final Softmax are compared too (max difference
/ their scale). ``--clock cpu`` times the process's CPU seconds instead of wall seconds.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # set on some machines, they make OpenBLAS pick slow kernels


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet50", "vgg19"],
                        help="light architectures (default: resnet50 vgg19)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall seconds, or the process's CPU seconds (steadier on a busy machine; "
                             "onnxruntime's threads do not spin then)")
    parser.add_argument("--profile", action="store_true",
                        help="also print where graphnn's time goes: per op (and conv kernel/stride), one more run")
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args(argv)


def with_threads(threads):
    """Re-execute this script with the BLAS thread variables set (they are read when NumPy loads)."""
    wanted = {name: str(threads) for name in THREAD_VARIABLES}
    if all(os.environ.get(k) == v for k, v in wanted.items()) and not any(k in os.environ for k in UNSET):
        return
    env = {k: v for k, v in os.environ.items() if k not in UNSET} | wanted
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def open_batch(model):
    """The model with an open batch: the data input's and outputs' leading size 'N', and Reshape targets
    that fix a leading 1 made to copy axis 0 (0)."""
    import numpy as np
    from onnx import numpy_helper

    initializers = {t.name: t for t in model.graph.initializer}
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name in initializers or not value.type.tensor_type.HasField("shape"):
            continue
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "N"
    for node in model.graph.node:
        if node.op_type == "Reshape" and node.input[1] in initializers:
            target = numpy_helper.to_array(initializers[node.input[1]]).copy()
            if target.size and target[0] == 1:
                target[0] = 0
                initializers[node.input[1]].CopyFrom(numpy_helper.from_array(target.astype(np.int64), node.input[1]))
    return model


def load_conformance():
    import importlib.util

    spec = importlib.util.spec_from_file_location("onnx_conformance", REPO / "tools" / "onnx_conformance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def profile(rep, feeds, now):
    """{op (convolutions by kernel and stride): seconds} of one more graphnn run of ``rep``, on ``now``'s clock."""
    import time as clock_module

    prepared = rep.prepared(feeds)
    network, importer = prepared.network, prepared.importer
    fed = {node: feeds[name].astype(prepared.dtype) for name, node in importer.inputs.items()}
    timings, perf_counter = {}, clock_module.perf_counter
    clock_module.perf_counter = now  # the executor's per-node timer, on the benchmark's clock
    try:
        network.forward(fed, keep=prepared.keep, timings=timings)
    finally:
        clock_module.perf_counter = perf_counter
    by_op = {}
    for step in network.plan.steps:
        op = step.op
        key = op.name + (f" {'x'.join(map(str, op.kernel))}/{op.stride[0]}" if op.name.startswith("conv") else "")
        by_op[key] = by_op.get(key, 0.0) + timings.get(step.name, 0.0)
    return dict(sorted(by_op.items(), key=lambda item: -item[1]))


def measure(name, batch, threads, repeats, clock="wall", with_profile=False):
    import numpy as np
    import onnxruntime as ort

    from graphnn.interop.onnx_backend import GraphnnBackend

    conformance = load_conformance()
    model = open_batch(conformance.randomised_light(name))
    x = np.random.default_rng(1).random((batch, 3, 224, 224), np.float32)
    feeds = {value.name: x for value in model.graph.input if value.name not in
             {t.name for t in model.graph.initializer}}
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    if clock == "cpu":  # a spinning thread would count its waiting as work
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    now = time.process_time if clock == "cpu" else time.perf_counter
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    started = time.perf_counter()
    rep = GraphnnBackend.prepare(model)
    expected, got = session.run(None, feeds)[-1], rep.run(feeds)[-1]  # warm-ups (graphnn imports); the logits
    imported = time.perf_counter() - started
    times = {"graphnn": [], "onnxruntime": []}
    for _ in range(repeats):
        for runtime, run in (("graphnn", lambda: rep.run(feeds)), ("onnxruntime", lambda: session.run(None, feeds))):
            started = now()
            run()
            times[runtime].append(now() - started)
    best = {runtime: min(values) for runtime, values in times.items()}
    extra = {"profile_s": profile(rep, feeds, now)} if with_profile else {}
    return {**extra, "model": name, "batch": batch, "threads": threads, "repeats": repeats, "clock": clock,
            "graphnn_s": best["graphnn"], "onnxruntime_s": best["onnxruntime"],
            "graphnn_images_per_s": batch / best["graphnn"], "onnxruntime_images_per_s": batch / best["onnxruntime"],
            "ratio": best["onnxruntime"] / best["graphnn"], "import_and_first_run_s": imported,
            "max_difference_of_scale": float(np.max(np.abs(got - expected)) / np.max(np.abs(expected))),
            "times": times}


def main(argv=None):
    args = arguments(argv)
    with_threads(args.threads)
    sys.path.insert(0, str(REPO))
    results = []
    print(f"batch {args.batch}, 224x224, {args.threads} threads, best of {args.repeats} ({args.clock} clock) "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start)")
    print(f"{'model':<10} {'graphnn img/s':>14} {'onnxruntime img/s':>18} {'ratio':>7} {'max diff':>9}")
    for name in args.models:
        result = measure(name, args.batch, args.threads, args.repeats, args.clock, args.profile)
        results.append(result)
        print(f"{name:<10} {result['graphnn_images_per_s']:>14.2f} {result['onnxruntime_images_per_s']:>18.2f} "
              f"{result['ratio']:>7.2f} {result['max_difference_of_scale']:>9.1e}")
        for op, seconds in result.get("profile_s", {}).items():
            print(f"    {op:<24} {seconds * 1e3:9.1f} ms")
    print(f"(load average {os.getloadavg()[0]:.1f} at the end; goal: ratio >= 0.5 at 2 threads)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
