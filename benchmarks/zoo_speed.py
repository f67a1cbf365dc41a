"""Zoo networks at ImageNet sizes, and their convolutions one at a time, against PyTorch on the CPU, in one run.

    python benchmarks/zoo_speed.py                                  # ResNet-18, batch 8, 224x224, 2 threads
    python benchmarks/zoo_speed.py --models resnet18 vgg16 --threads 1 --repeats 5
    python benchmarks/zoo_speed.py --layers [--match "at 56"]      # the convolutions of ResNet-18 and VGG-16

For each zoo model (graphnn/zoo/NAME.json), graphnn's ``Network`` and the same graph in PyTorch
(``contenders.torch_graph``: every node of graphnn's expanded plan, in its order) time two things on one
random batch of ``--batch`` images: **inference** (graphnn ``forward(keep=...)`` of the logits; PyTorch
``eval()`` under ``inference_mode``) and **one training step** (forward in training mode, the softmax
cross-entropy loss, backward, and an SGD update with momentum 0.9 and weight decay; graphnn's ``Solver``,
PyTorch's ``torch.optim.SGD``). ``--layers`` times single convolutions instead (forward in training mode,
then backward to the input and the weights): ResNet-18's 3x3 convolutions at each stage and its 7x7 stem,
VGG-16's first and third-stage 3x3 convolutions. Each repeat runs each contender once, alternating, after a
warm-up each; the table shows the best time of the repeats and the ratio, PyTorch's time over graphnn's
(above 1: graphnn is faster). NumPy's BLAS and PyTorch get ``--threads`` threads (the script re-executes
itself to set the BLAS variables before NumPy loads).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from onnx_inference import with_threads  # the BLAS thread variables set, as that benchmark sets them

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LR, MOMENTUM, WEIGHT_DECAY = 0.01, 0.9, 0.0005
# (name, channels in, filters, kernel, stride, padding, input size): ResNet-18's and VGG-16's convolutions
LAYERS = (
    ("resnet18 stem 7x7/2", 3, 64, 7, 2, 3, 224),
    ("resnet18 3x3 64 at 56", 64, 64, 3, 1, 1, 56),
    ("resnet18 3x3 128 at 28", 128, 128, 3, 1, 1, 28),
    ("resnet18 3x3 256 at 14", 256, 256, 3, 1, 1, 14),
    ("resnet18 3x3 512 at 7", 512, 512, 3, 1, 1, 7),
    ("vgg16 3x3 64 at 224", 64, 64, 3, 1, 1, 224),
    ("vgg16 3x3 256 at 56", 256, 256, 3, 1, 1, 56),
)


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet18"], help="zoo models (default: resnet18)")
    parser.add_argument("--layers", action="store_true", help="single convolutions instead of whole models")
    parser.add_argument("--match", default="", help="with --layers: only the cases whose name holds this text")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args(argv)


def best_times(contenders, repeats):
    """{name: best seconds} of each () -> None callable, one warm-up each, then ``repeats`` rounds alternating."""
    for run in contenders.values():
        run()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: min(values) for name, values in times.items()}


def model_contenders(name, batch):
    """{label: callable} for zoo model ``name``: graphnn and PyTorch inference and training steps."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from contenders import decayed_parameters, torch_graph

    from graphnn.executor import Network
    from graphnn.model import load_model, zoo
    from graphnn.train.solvers import Solver

    model = load_model(zoo.path(name))
    image = next(step for step in model.plan.inputs if step.op.params["field"] == "x")
    label = next(step for step in model.plan.inputs if step.op.params["field"] == "y")
    logits = model.plan.losses[0].inputs[0]
    classes = next(step for step in model.plan.steps if step.name == logits).out_shape[0]
    rng = np.random.default_rng(0)
    x = rng.random((batch, *image.out_shape), np.float32)
    y = rng.integers(0, classes, batch)
    net = Network.initialise(model, seed=0)
    solver = Solver({"type": "sgd", "momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY}, net.store)
    feeds, dropout = {image.name: x, label.name: y}, np.random.default_rng(1)

    def graphnn_step():
        net.backward(net.forward(feeds, train=True, rng=dropout))
        solver.step(LR)

    torch_net = torch_graph(model.document)
    decayed, others = decayed_parameters(torch_net)
    optimizer = torch.optim.SGD([{"params": decayed, "weight_decay": WEIGHT_DECAY},
                                 {"params": others, "weight_decay": 0.0}], lr=LR, momentum=MOMENTUM)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step():
        torch_net.train()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(torch_net(tx), ty)
        loss.backward()
        optimizer.step()
        loss.item()

    def torch_inference():
        torch_net.eval()
        with torch.inference_mode():
            torch_net(tx)

    return {"inference": {"graphnn": lambda: net.forward({image.name: x}, until=logits, keep=[logits]),
                          "pytorch": torch_inference},
            "training step": {"graphnn": graphnn_step, "pytorch": torch_step}}


def layer_contenders(layer, batch):
    """{"forward + backward": {label: callable}} for one convolution of LAYERS."""
    import numpy as np
    import torch

    from graphnn.ops import get
    from graphnn.ops.base import ForwardContext

    _, channels, filters, kernel, stride, padding, size = layer
    op = get("conv2d")("conv", {"filters": filters, "kernel": kernel, "stride": stride, "padding": padding},
                       [(channels, size, size)])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, channels, size, size), np.float32)
    weights = {key: rng.standard_normal(shape, np.float32) * 0.05 for key, shape in op.weight_shapes.items()}
    dy = rng.standard_normal((batch, *op.out_shape), np.float32)
    grads = {key: np.empty_like(value) for key, value in weights.items()}
    context = ForwardContext(train=True)

    def graphnn_pass():
        _, cache = op.forward(weights, [x], context)
        op.backward(weights, cache, dy, (True,), grads)

    conv = torch.nn.Conv2d(channels, filters, kernel, stride=stride, padding=padding)
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def torch_pass():
        conv.zero_grad(set_to_none=True)
        tx.grad = None
        conv(tx).backward(tdy)

    return {"forward + backward": {"graphnn": graphnn_pass, "pytorch": torch_pass}}


def main(argv=None):
    args = arguments(argv)
    with_threads(args.threads)
    sys.path[:0] = [str(REPO), str(HERE)]
    import torch

    torch.set_num_threads(args.threads)
    what = "convolutions" if args.layers else "models"
    print(f"{what}, batch {args.batch}, {args.threads} threads, best of {args.repeats} (wall clock; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start)")
    print(f"{'case':<28} {'pass':<20} {'graphnn ms':>11} {'pytorch ms':>11} {'ratio':>7}")
    cases = [(layer[0], layer_contenders(layer, args.batch)) for layer in LAYERS if args.match in layer[0]] \
        if args.layers else \
        [(name, model_contenders(name, args.batch)) for name in args.models]
    for case, passes in cases:
        for label, contenders in passes.items():
            best = best_times(contenders, args.repeats)
            print(f"{case:<28} {label:<20} {best['graphnn'] * 1e3:>11.1f} {best['pytorch'] * 1e3:>11.1f} "
                  f"{best['pytorch'] / best['graphnn']:>7.2f}")
    print(f"(load average {os.getloadavg()[0]:.1f} at the end; ratio: PyTorch's time over graphnn's, goal >= 1.0)")


if __name__ == "__main__":
    main()
