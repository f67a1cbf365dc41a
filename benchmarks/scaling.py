"""How graphnn's cost grows with batch size and with network width (graphnn.timing, random data).

    python benchmarks/scaling.py [--iterations 20] [--markdown]

Two sweeps of a 784-H-H-10 tanh MLP trained with momentum SGD: the batch size at H = 50 (the mlp784
network), and the width H at batch 100. Each row is one training iteration (feed, forward, backward,
update) averaged over ``--iterations`` after a warm-up, with its share spent in fully connected
matrix products, the samples per second, and the memory one iteration holds (outputs, caches, gradients).
"""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workloads import WORKLOADS

BATCHES = (1, 10, 100, 1000)
WIDTHS = (50, 200, 1024, 2048)


def model_with(width):
    from graphnn.model import model_from_dict

    document = WORKLOADS["mlp784"].document(1)
    document["name"] = f"mlp784-{width}"
    for node in document["nodes"]:
        if node["name"] in ("fc1", "fc2"):
            node["units"] = width
    return model_from_dict(document)


def measure(width, batch_size, iterations):
    from graphnn.timing import time_model

    report = time_model(model_with(width), batch_size=batch_size, iterations=iterations)
    matmul = sum(node.forward_s + node.backward_s for node in report.nodes if node.op == "fc")
    return {"width": width, "batch_size": batch_size, "us_per_iteration": report.iteration_s * 1e6,
            "us_per_sample": report.iteration_s * 1e6 / batch_size,
            "samples_per_s": batch_size / report.iteration_s, "fc_share": matmul / report.iteration_s,
            "memory_mib": report.memory_bytes / 2 ** 20}


def markdown(rows, varying):
    lines = [f"| {varying} | µs / iteration | µs / sample | samples/s | in fc matmuls | memory MiB |",
             "|--:|--:|--:|--:|--:|--:|"]
    for row in rows:
        lines.append(f"| {row[varying]} | {row['us_per_iteration']:,.0f} | {row['us_per_sample']:,.2f} | "
                     f"{row['samples_per_s']:,.0f} | {100 * row['fc_share']:.0f}% | {row['memory_mib']:,.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (default: JSON lines)")
    args = parser.parse_args(argv)
    by_batch = [measure(50, batch, args.iterations) for batch in BATCHES]
    by_width = [measure(width, 100, args.iterations) for width in WIDTHS]
    if args.markdown:
        print("Batch size (784-50-50-10):\n")
        print(markdown(by_batch, "batch_size"))
        print("\nWidth H (784-H-H-10, batch 100):\n")
        print(markdown(by_width, "width"))
    else:
        for row in by_batch + by_width:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
