"""One contender on one workload, in this process; prints one JSON line (run.py starts one process each).

    python benchmarks/contenders.py graphnn mlp784 [--quick] [--threads 2]

Each contender keeps the MNIST images as uint8 and converts each batch to float32 in [0, 1] (scikit-learn
cannot take batches, so it converts the training set once, inside the timed part). Timed:

- training: the loop over ``iterations`` batches (batch order, forward, backward, update), nothing else,
  after a warm-up of a few iterations on a throwaway copy of the network (first-call costs: thread pools,
  kernel selection, allocator);
- (``--clock wall``, the default, times seconds elapsed; ``--clock cpu`` the CPU seconds of all the
  process's threads, which other programs on a busy machine do not inflate: use it with one thread)
- inference: class predictions for the test set in batches of ``test_batch_size``, best of 10 passes
  (graphnn: ``graphnn.predict.predict``, which also computes the softmax probabilities).

The JSON line has train/inference seconds and samples, test accuracy, peak RSS (``ru_maxrss`` of this
process: VmHWM, see rss_bytes), RSS after imports, the library versions and the BLAS threadpools threadpoolctl reports.
"""

import argparse
import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import WORKLOADS

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}  # cpu: seconds of CPU used by all threads
clock = CLOCKS["wall"]
INFERENCE_PASSES = 10
WARMUP_ITERATIONS = 5
SEED = 0
data_dir = None  # --data-dir: looked in first, then graphnn's own lookup (graphnn/datasets/lookup.py)


def load_mnist():
    """(train Split, test Split) of MNIST found, fetched and verified by graphnn's own lookup; ``.x`` holds
    (N, 28, 28) uint8 images and ``.y`` (N,) int64 class indices, for every contender alike."""
    from graphnn.datasets import load_split

    return tuple(load_split({"dataset": "mnist"}, split, data_dir=data_dir) for split in ("train", "test"))


def rss_bytes():
    """Peak resident set size of this process so far, in bytes.

    Linux's ``VmHWM`` (/proc/self/status) where there is one: unlike ``ru_maxrss``, which carries the
    parent's RSS at fork across exec, it covers only this program. Else ``ru_maxrss`` (KiB on Linux).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def batch_orders(train_size, batch_size, iterations, start=None, seed=SEED):
    """Index arrays of each iteration's batch: consecutive batches of each epoch's permutation, taken from
    ``start`` (graphnn's, see start.py) when given, else drawn here."""
    per_epoch = train_size // batch_size
    order = None
    for it in range(iterations):
        epoch, k = divmod(it, per_epoch)
        if k == 0:
            order = start[f"order:{epoch}"] if start is not None else \
                np.random.default_rng([seed, epoch]).permutation(train_size)
        yield order[k * batch_size:(k + 1) * batch_size]


def trained_nodes(document):
    """Names of the fc and conv2d nodes, in file order: the layers that start.py's weights belong to."""
    return [node["name"] for node in document["nodes"] if node.get("op") in ("fc", "conv2d")]


def best_pass(predict, test, batch_size, passes):
    """(seconds of the fastest pass, accuracy): ``predict(uint8 images) -> classes`` over the test set."""
    best, correct = float("inf"), 0
    for _ in range(passes):
        started = clock()
        correct = 0
        for start in range(0, len(test.y), batch_size):
            classes = predict(test.x[start:start + batch_size])
            correct += int(np.count_nonzero(classes == test.y[start:start + batch_size]))
        best = min(best, clock() - started)
    return best, correct / len(test.y)


def run_graphnn(workload, iterations, train_n, test_n, threads, start=None):
    import graphnn
    from graphnn.model import model_from_dict
    from graphnn.predict import predict
    from graphnn.train.loop import Trainer
    from graphnn.train.settings import resolve_settings

    imported = rss_bytes()
    model = model_from_dict(workload.document(iterations))
    train, test = load_mnist()
    train, test = train.head(train_n), test.head(test_n)
    Trainer(model, resolve_settings(model, {"iterations": WARMUP_ITERATIONS}), train, None).run()
    trainer = Trainer(model, resolve_settings(model, {}, train_size=len(train)), train, None)
    started = clock()
    trainer.run()
    train_seconds = clock() - started
    batch_size = workload.test_batch_size
    infer_seconds, accuracy = best_pass(lambda images: predict(trainer.network, images, batch_size)[0], test,
                                        batch_size, INFERENCE_PASSES)
    return {"train_seconds": train_seconds, "infer_seconds": infer_seconds, "accuracy": accuracy,
            "rss_after_import": imported, "versions": {"graphnn": graphnn.__version__}}


def run_numpy(workload, iterations, train_n, test_n, threads, start=None):
    from numpy_mlp import NumpyMLP

    imported = rss_bytes()
    train, test = load_mnist()
    test = test.head(test_n)
    sizes = [784, *workload.hidden, 10]

    def train_loop(net, iterations, start=None):
        for index in batch_orders(train_n, workload.batch_size, iterations, start):
            net.train_step(train.x[index], train.y[index], workload.lr, workload.momentum, workload.weight_decay)

    train_loop(NumpyMLP(sizes, workload.batch_size, seed=SEED + 1), WARMUP_ITERATIONS)
    weights = None
    if start is not None:
        weights = [(start[f"W:{name}"], start[f"b:{name}"]) for name in trained_nodes(workload.document(1))]
    net = NumpyMLP(sizes, workload.batch_size, seed=SEED, weights=weights)
    started = clock()
    train_loop(net, iterations, start)
    train_seconds = clock() - started
    infer_seconds, accuracy = best_pass(net.predict, test, workload.test_batch_size, INFERENCE_PASSES)
    return {"train_seconds": train_seconds, "infer_seconds": infer_seconds, "accuracy": accuracy,
            "rss_after_import": imported, "versions": {}}


def torch_init(layer, node):
    """Initialise a Linear or Conv2d layer with the node's graphnn filler (graphnn/ops/fillers.py), biases 0."""
    import torch

    fan_in = layer.weight[0].numel()  # inputs of one output: C*kh*kw for conv
    fan_out = layer.weight.shape[0] * layer.weight[0, 0].numel()  # F*kh*kw for conv, units for fc
    spec = node.get("init", "xavier")
    spec = {"type": spec} if isinstance(spec, str) else spec
    with torch.no_grad():
        if spec["type"] == "xavier":  # Glorot's, with 1 added to the fans
            bound = (6 / (fan_in + fan_out + 1)) ** 0.5
            layer.weight.uniform_(-bound, bound)
        elif spec["type"] in ("msra", "he"):
            layer.weight.normal_(0.0, (2 / fan_in) ** 0.5)
        elif spec["type"] == "gaussian":
            layer.weight.normal_(0.0, spec.get("std", 0.01))
        else:
            raise ValueError(f"node {node['name']!r}: filler {spec['type']!r} has no PyTorch translation here")
        if layer.bias is not None:
            layer.bias.zero_()


def torch_network(document):
    """A torch.nn.Sequential for a chain model document (data -> conv2d/maxpool2d/fc/activation/dropout ->
    loss), initialised with each node's graphnn filler."""
    import torch
    from torch import nn

    image = next(node for node in document["nodes"] if node["op"] == "data" and node.get("field", "x") == "x")
    shape = (1, *image["shape"])
    layers = []
    activations = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
    for node in document["nodes"]:
        op = node["op"]
        if op in ("data", "loss"):
            continue
        if op == "conv2d":
            layer = nn.Conv2d(shape[1], node["filters"], node["kernel"], stride=node.get("stride", 1),
                              padding=node.get("padding", 0), dilation=node.get("dilation", 1),
                              groups=node.get("groups", 1), bias=node.get("bias", True))
        elif op == "maxpool2d":
            layer = nn.MaxPool2d(node["kernel"], stride=node.get("stride"), padding=node.get("padding", 0))
        elif op == "fc":
            if len(shape) > 2:
                layers.append(nn.Flatten())
                shape = (1, int(np.prod(shape[1:])))
            layer = nn.Linear(shape[1], node["units"], bias=node.get("bias", True))
        elif op == "activation":
            layer = activations[node["function"]]()
        elif op == "dropout":
            layer = nn.Dropout(node.get("ratio", 0.5))
        else:
            raise ValueError(f"node {node['name']!r}: op {op!r} has no PyTorch translation here")
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            torch_init(layer, node)
        layers.append(layer)
        with torch.no_grad():
            shape = tuple(layer.eval()(torch.zeros(shape)).shape)
    return nn.Sequential(*layers)


def torch_graph(document):
    """A torch.nn.Module for a DAG model document (blocks expanded by graphnn's loader: residual adds,
    batch norm, global pooling), run in graphnn's plan order; layers named by their graphnn nodes."""
    import torch
    from torch import nn

    from graphnn.model import model_from_dict

    plan = model_from_dict(document).plan
    activations = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}

    class Graph(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleDict()
            self.steps = [(step.name, step.op.name, step.op.params, step.inputs) for step in plan.steps
                          if not step.op.is_loss]
            for step in plan.steps:
                op, params, in_shape = step.op.name, step.op.params, (step.in_shapes or [()])[0]
                if op == "conv2d":
                    padding = params["padding"]
                    layer = nn.Conv2d(in_shape[0], params["filters"], params["kernel"], stride=params["stride"],
                                      padding=padding if isinstance(padding, (int, str)) else tuple(padding),
                                      dilation=params["dilation"], groups=params["groups"], bias=params["bias"])
                    torch_init(layer, params)
                elif op == "fc":
                    layer = nn.Linear(int(np.prod(in_shape)), params["units"], bias=params["bias"])
                    torch_init(layer, params)
                elif op == "batchnorm":  # graphnn's momentum is the share kept; PyTorch's the share replaced
                    layer = nn.BatchNorm2d(in_shape[0], eps=params["epsilon"], momentum=1 - params["momentum"])
                elif op == "maxpool2d":
                    layer = nn.MaxPool2d(params["kernel"], stride=params.get("stride") or params["kernel"],
                                         padding=params["padding"], ceil_mode=params["ceil_mode"])
                else:
                    continue
                self.layers[self.key(step.name)] = layer

        @staticmethod
        def key(name):
            return name.replace(".", "__")  # ModuleDict keys cannot hold dots

        def forward(self, x):
            values = {}
            for name, op, params, inputs in self.steps:
                if op == "data":
                    values[name] = x if params.get("field", "x") == "x" else None
                    continue
                first = values[inputs[0]]
                if op in ("conv2d", "batchnorm", "maxpool2d"):
                    values[name] = self.layers[self.key(name)](first)
                elif op == "fc":
                    values[name] = self.layers[self.key(name)](first.flatten(1))
                elif op == "activation":
                    values[name] = activations[params["function"]](first)
                elif op == "add":
                    values[name] = sum(values[source] for source in inputs[1:]) + first
                elif op == "global_avgpool":
                    values[name] = first.mean(dim=(2, 3))
                elif op == "dropout":
                    values[name] = nn.functional.dropout(first, params["ratio"], self.training)
                else:
                    raise ValueError(f"node {name!r}: op {op!r} has no PyTorch translation here")
            return values[self.steps[-1][0]]

    return Graph()


def decayed_parameters(net):
    """(decayed, others): graphnn decays conv and fc weights only (not biases, not batch norm's gamma, beta)."""
    from torch import nn

    decayed = [module.weight for module in net.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    ids = {id(p) for p in decayed}
    return decayed, [p for p in net.parameters() if id(p) not in ids]


def load_start_weights(net, document, start):
    """Copy start.py's weights into the Linear and Conv2d layers of ``net`` (graphnn's W is (in, out))."""
    import torch
    from torch import nn

    if hasattr(net, "layers"):  # torch_graph: every weight, by node name
        with torch.no_grad():
            for key, layer in net.layers.items():
                name = key.replace("__", ".")
                if isinstance(layer, nn.BatchNorm2d):
                    layer.weight.copy_(torch.from_numpy(start[f"gamma:{name}"]))
                    layer.bias.copy_(torch.from_numpy(start[f"beta:{name}"]))
                    continue
                if not isinstance(layer, (nn.Linear, nn.Conv2d)):
                    continue  # pools
                weight = start[f"W:{name}"]
                layer.weight.copy_(torch.from_numpy(weight.T.copy() if isinstance(layer, nn.Linear) else weight))
                if layer.bias is not None:
                    layer.bias.copy_(torch.from_numpy(start[f"b:{name}"]))
        return

    layers = [layer for layer in net if isinstance(layer, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        for layer, name in zip(layers, trained_nodes(document), strict=True):
            weight = start[f"W:{name}"]
            layer.weight.copy_(torch.from_numpy(weight.T.copy() if isinstance(layer, nn.Linear) else weight))
            if layer.bias is not None:
                layer.bias.copy_(torch.from_numpy(start[f"b:{name}"]))


def run_torch(workload, iterations, train_n, test_n, threads, start=None):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    imported = rss_bytes()
    train, test = load_mnist()
    test = test.head(test_n)
    document = workload.document(iterations)
    sample_shape = tuple(next(n for n in document["nodes"] if n["op"] == "data")["shape"])
    labels = torch.from_numpy(train.y.astype(np.int64))

    def floats(images):
        return torch.from_numpy(images).reshape((len(images),) + sample_shape).to(torch.float32).mul_(1 / 255)

    def train_loop(net, iterations, start=None):
        decayed, others = decayed_parameters(net)
        optimizer = torch.optim.SGD([{"params": decayed, "weight_decay": workload.weight_decay},
                                     {"params": others, "weight_decay": 0.0}],
                                    lr=workload.lr, momentum=workload.momentum)
        net.train()
        for index in batch_orders(train_n, workload.batch_size, iterations, start):
            x, y = floats(train.x[index]), labels[torch.from_numpy(index)]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            loss.item()  # as a training loop that logs its loss does (graphnn checks every loss)

    build = torch_network if all(node.get("op") in SEQUENTIAL for node in document["nodes"]) else torch_graph
    train_loop(build(document), WARMUP_ITERATIONS)
    net = build(document)
    if start is not None:
        load_start_weights(net, document, start)
    started = clock()
    train_loop(net, iterations, start)
    train_seconds = clock() - started
    net.eval()

    def predict(images):
        with torch.inference_mode():
            return net(floats(images)).argmax(dim=1).numpy()

    infer_seconds, accuracy = best_pass(predict, test, workload.test_batch_size, INFERENCE_PASSES)
    return {"train_seconds": train_seconds, "infer_seconds": infer_seconds, "accuracy": accuracy,
            "rss_after_import": imported, "versions": {"torch": torch.__version__, "torch_threads": threads}}


SEQUENTIAL = ("data", "loss", "conv2d", "maxpool2d", "fc", "activation", "dropout")  # torch_network's ops


def run_sklearn(workload, iterations, train_n, test_n, threads, start=None):
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    imported = rss_bytes()
    train, test = load_mnist()
    test = test.head(test_n)
    per_epoch = train_n // workload.batch_size
    if iterations % per_epoch:
        raise ValueError(f"scikit-learn trains whole epochs; {iterations} iterations are not a multiple of "
                         f"{per_epoch} batches")

    def fit(samples, epochs):
        classifier = MLPClassifier(
            hidden_layer_sizes=workload.hidden, activation="tanh", solver="sgd", batch_size=workload.batch_size,
            learning_rate="constant", learning_rate_init=workload.lr, momentum=workload.momentum,
            nesterovs_momentum=False, alpha=workload.weight_decay * workload.batch_size,
            max_iter=epochs, shuffle=True, random_state=SEED, tol=0.0, n_iter_no_change=10 ** 9,
            early_stopping=False)
        x = train.x[:samples].reshape(samples, -1).astype(np.float32)
        x *= np.float32(1 / 255)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return classifier.fit(x, train.y[:samples])

    fit(WARMUP_ITERATIONS * workload.batch_size, 1)
    started = clock()
    classifier = fit(train_n, iterations // per_epoch)
    train_seconds = clock() - started

    def predict(images):
        features = images.reshape(len(images), -1).astype(np.float32)
        features *= np.float32(1 / 255)
        return classifier.predict(features)

    infer_seconds, accuracy = best_pass(predict, test, workload.test_batch_size, INFERENCE_PASSES)
    return {"train_seconds": train_seconds, "infer_seconds": infer_seconds, "accuracy": accuracy,
            "rss_after_import": imported, "versions": {"scikit-learn": sklearn.__version__}}


CONTENDERS = {"graphnn": run_graphnn, "pytorch": run_torch, "sklearn": run_sklearn, "numpy": run_numpy}
# which workloads each contender can run: None means all
CAN_RUN = {"graphnn": None, "pytorch": None, "sklearn": lambda w: w.is_mlp, "numpy": lambda w: w.is_mlp}
MODULES = {"pytorch": "torch", "sklearn": "sklearn"}  # what must be importable


def blas_info():
    """The BLAS/OpenMP threadpools loaded, as threadpoolctl reports them (None without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keys = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads", "threading_layer")
    return [{key: pool.get(key) for key in keys if key in pool} for pool in threadpool_info()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--quick", action="store_true", help="a few iterations on a small test set")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--start", help="start.py's .npz: initial weights and batch order (NumPy loop, PyTorch)")
    parser.add_argument("--data-dir", help="folder holding MNIST (default: graphnn's own lookup)")
    args = parser.parse_args(argv)
    global clock, data_dir
    clock, data_dir = CLOCKS[args.clock], args.data_dir
    workload = WORKLOADS[args.workload]
    if CAN_RUN[args.contender] is not None and not CAN_RUN[args.contender](workload):
        parser.error(f"{args.contender} cannot run {workload.name} (MLPs only)")
    iterations, train_n, test_n = workload.schedule(args.quick)
    start = np.load(args.start) if args.start else None
    result = CONTENDERS[args.contender](workload, iterations, train_n, test_n, args.threads, start)
    result.update(
        contender=args.contender, workload=workload.name, clock=args.clock, iterations=iterations, batch_size=workload.batch_size,
        train_samples=iterations * workload.batch_size, infer_samples=test_n, peak_rss=rss_bytes(),
        blas=blas_info(), numpy=np.__version__)
    result["train_samples_per_s"] = result["train_samples"] / result["train_seconds"]
    result["infer_samples_per_s"] = result["infer_samples"] / result["infer_seconds"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
