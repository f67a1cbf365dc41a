"""How much of ONNX's own conformance data graphnn passes (issue 15), through graphnn.interop.onnx_backend.

    python tools/onnx_conformance.py                         # all four parts: a table per part and totals
    python tools/onnx_conformance.py --part node --verbose   # one line per case, the first error line too
    python tools/onnx_conformance.py --part light --json out.json

(a) ``node``: ONNX's node test cases (``onnx.backend.test.case.node.collect_testcases``) whose graphs use
    only the op types issue 15 lists (``ISSUE_OPS``): each case's data sets through the backend, compared
    as ``onnx.backend.test`` compares them (the case's rtol/atol; shapes and dtypes exact). Per op type
    (the case graph's op types, joined by '+'): passed / cases, and the failing cases. Target >= 95%.
(b) ``models``: the cases of ``pytorch-converted``, ``pytorch-operator`` and ``simple`` (in the onnx wheel)
    that need no sequence, string or training ops (124), with ONNX's tolerances (the case's data.json, else
    rtol 1e-3, atol 1e-7). Target >= 90%.
(c) ``light``: the 9 model-zoo architectures of ``light/``, each ConstantOfShape replaced by a random
    initializer of its shape (``randomised_light``), against onnxruntime on one random image: for the
    output and for the logits before the final Softmax, max |graphnn - ort| <= 1e-4 * max |ort|.
(d) ``pytorch``: 12 nets written below (``torch_nets``), each exported by ``torch.onnx.export(dynamo=False,
    opset_version=17)`` with a fixed batch (1) and with a dynamic one (traced at 2, run at 3): 24 files,
    imported and compared with PyTorch's own outputs (max |diff| <= 1e-4 * max(1, max |torch|)). Needs the
    bench extra.

Where graphnn lacks an op, the case fails with the importer's one-line error (which names the op).
The test suite runs a fast subset (tests/interop/test_onnx_conformance.py); this script is the measurement.
"""

import argparse
import collections
import glob
import io
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ISSUE_OPS = frozenset(
    ["Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "InstanceNormalization", "LRN", "Gemm", "MatMul", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Elu", "Selu", "Softplus", "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Neg", "Abs", "Exp", "Log", "Sqrt", "Clip", "Concat", "Split", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Pad", "ReduceMean", "ReduceSum", "ReduceMax", "Dropout", "Identity", "Sum", "Erf", "Gelu"])
MODEL_KINDS = ("pytorch-converted", "pytorch-operator", "simple")
EXCLUDED_OPS = frozenset(  # sequence, string and training ops: out of scope for (b)
    ["SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength", "SplitToSequence", "ConcatFromSequence", "StringNormalizer", "Gradient"])
LIGHT_TOLERANCE = 1e-4
TORCH_TOLERANCE = 1e-4


def onnx_data_dir():
    import onnx

    return Path(onnx.__file__).parent / "backend" / "test" / "data"


def first_line(error):
    text = f"{type(error).__name__}: {error}" if not hasattr(error, "located") else str(error)
    return (text.strip().splitlines() or [type(error).__name__])[0][:200]


def compare(expected, got, rtol, atol):
    """ONNX's own comparison (onnx.backend.test.runner.Runner.assert_similar_outputs)."""
    from onnx.backend.test.runner import Runner

    Runner.assert_similar_outputs(expected, got, rtol=rtol, atol=atol)


def normalized(value):
    """A test case's value as an array (some are TensorProtos), as onnx.backend.test does."""
    import onnx

    return onnx.numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else value


def run_case(model, data_sets, rtol, atol):
    """None when every data set matches; else the first error line."""
    from graphnn.interop.onnx_backend import GraphnnBackend

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = GraphnnBackend.prepare(model, "CPU")
            for inputs, outputs in data_sets:
                got = rep.run([normalized(x) for x in inputs])
                compare([normalized(y) for y in outputs], got, rtol, atol)
    except Exception as error:  # noqa: BLE001 — a case fails in any way: that is what is measured
        return first_line(error)
    return None


# --- (a) node test cases ----------------------------------------------------------------------------------

def node_cases(ops=ISSUE_OPS):
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    return [case for case in cases if case.model is not None and
            all(node.op_type in ops for node in case.model.graph.node)]


def group_of(model):
    return "+".join(sorted({node.op_type for node in model.graph.node}))


def part_node(verbose=False, cases=None):
    results = []
    for case in cases if cases is not None else node_cases():
        error = run_case(case.model, case.data_sets, case.rtol, case.atol)
        results.append({"case": case.name, "group": group_of(case.model), "error": error})
        if verbose:
            print(f"  {'pass' if error is None else 'FAIL'} {case.name}" + (f": {error}" if error else ""))
    return results


# --- (b) model directories --------------------------------------------------------------------------------

def model_cases(kinds=MODEL_KINDS):
    import onnx

    cases = []
    for kind in kinds:
        for folder in sorted(glob.glob(str(onnx_data_dir() / kind / "*" / ""))):
            model = onnx.load(os.path.join(folder, "model.onnx"))
            if {node.op_type for node in model.graph.node} & EXCLUDED_OPS:
                continue
            settings = {}
            if os.path.exists(os.path.join(folder, "data.json")):
                with open(os.path.join(folder, "data.json")) as f:
                    settings = json.load(f)
            data_sets = []
            for data in sorted(glob.glob(os.path.join(folder, "test_data_set_*"))):
                inputs = [load_tensor(path) for path in sorted(glob.glob(os.path.join(data, "input_*.pb")))]
                outputs = [load_tensor(path) for path in sorted(glob.glob(os.path.join(data, "output_*.pb")))]
                data_sets.append((inputs, outputs))
            cases.append({"kind": kind, "case": Path(folder).name, "model": model, "data_sets": data_sets,
                          "rtol": settings.get("rtol", 1e-3), "atol": settings.get("atol", 1e-7)})
    return cases


def load_tensor(path):
    import onnx
    from onnx import numpy_helper

    tensor = onnx.TensorProto()
    tensor.ParseFromString(Path(path).read_bytes())
    return numpy_helper.to_array(tensor)


def part_models(verbose=False, cases=None):
    results = []
    for case in cases if cases is not None else model_cases():
        error = run_case(case["model"], case["data_sets"], case["rtol"], case["atol"])
        results.append({"case": f"{case['kind']}/{case['case']}", "group": case["kind"], "error": error})
        if verbose:
            print(f"  {'pass' if error is None else 'FAIL'} {case['kind']}/{case['case']}" +
                  (f": {error}" if error else ""))
    return results


# --- (c) the light model-zoo architectures -------------------------------------------------------------

LIGHT = ("bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet",
         "squeezenet", "vgg19", "zfnet512")


def randomised_light(name, seed=0):
    """light/light_NAME.onnx with each ConstantOfShape replaced by a random initializer of its shape, drawn
    for the place it is read in (so the activations keep their scale through the network): kernels and
    matrices N(0, 2 / fan-in), scales and variances U(0.5, 1.5), biases and means N(0, 0.05); and the input
    of the final Softmax as a second output (the logits: softmax outputs near one-hot compare weakly)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_data_dir() / "light" / f"light_{name}.onnx"))
    graph = model.graph
    rng = np.random.default_rng(seed)
    shapes = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    readers = {}
    for node in graph.node:
        for position, tensor in enumerate(node.input):
            readers.setdefault(tensor, (node, position))
    kept = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape":
            kept.append(node)
            continue
        shape = tuple(int(d) for d in shapes[node.input[0]].reshape(-1))
        reader, position = readers.get(node.output[0], (None, None))
        while reader is not None and reader.op_type == "Unsqueeze":  # densenet's scales: Unsqueeze, then Mul
            reader, position = readers.get(reader.output[0], (None, None))
        kind = reader.op_type if reader is not None else ""
        if len(shape) >= 2:
            transposed = kind == "Gemm" and any(a.name == "transB" and a.i for a in reader.attribute)
            fan_in = shape[1] if kind == "Gemm" and transposed else shape[0] if kind == "Gemm" else \
                int(np.prod(shape[1:]))
            value = rng.normal(0, np.sqrt(2 / fan_in), shape)
        elif (kind == "BatchNormalization" and position in (1, 4)) or kind == "Mul":
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0, 0.05, shape)
        graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        if model.ir_version < 4:  # IR 3: every initializer is also a graph input
            graph.input.append(onnx.helper.make_tensor_value_info(node.output[0], onnx.TensorProto.FLOAT, shape))
    del graph.node[:]
    graph.node.extend(kept)
    softmax = [node for node in graph.node if node.op_type == "Softmax"]
    if softmax:
        graph.output.append(onnx.helper.make_empty_tensor_value_info(softmax[-1].input[0]))
    return model


def light_inputs(model, seed=1):
    initializers = {t.name for t in model.graph.initializer}
    rng = np.random.default_rng(seed)
    return {value.name: rng.random([d.dim_value for d in value.type.tensor_type.shape.dim], np.float32)
            for value in model.graph.input if value.name not in initializers}


def check_light(name):
    """(max |graphnn - onnxruntime| / max |onnxruntime|, seconds) for one light architecture."""
    import onnxruntime as ort

    from graphnn.interop.onnx_backend import GraphnnBackend

    model = randomised_light(name)
    feeds = light_inputs(model)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warnings about the ConstantOfShape shapes left unused
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    expected = session.run(None, feeds)
    started = time.perf_counter()
    got = GraphnnBackend.prepare(model).run(feeds)
    seconds = time.perf_counter() - started
    worst = 0.0
    for e, g in zip(expected, got):
        if e.shape != g.shape:
            raise AssertionError(f"output shape {g.shape}, onnxruntime {e.shape}")
        worst = max(worst, float(np.max(np.abs(e - g)) / max(np.max(np.abs(e)), 1e-30)))
    return worst, seconds


def part_light(verbose=False, names=LIGHT):
    results = []
    for name in names:
        try:
            worst, seconds = check_light(name)
            error = None if worst <= LIGHT_TOLERANCE else f"max difference {worst:.2e} of the output scale"
            detail = f"{worst:.1e} of the output scale, {seconds:.1f} s"
        except Exception as caught:  # noqa: BLE001 — measured, not raised
            error, detail = first_line(caught), ""
        results.append({"case": name, "group": "light", "error": error, "detail": detail})
        if verbose:
            print(f"  {'pass' if error is None else 'FAIL'} {name}: {error or detail}")
    return results


# --- (d) PyTorch exports --------------------------------------------------------------------------------

def torch_nets():
    """{name: (module factory, input shape of one sample)}: 12 common nets."""
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 5))

        def forward(self, x):
            return self.layers(x)

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 84), nn.Linear(84, 10)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.down = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(y + (x if self.down is None else self.down(x)))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
            self.blocks = nn.Sequential(Block(8, 8, 1), Block(8, 16, 2))
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.blocks(self.stem(x))
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Dropout(), nn.Linear(32, 10))

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    class MobileNet(nn.Module):
        def __init__(self):
            super().__init__()
            def separable(cin, cout, stride):
                return nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                                     nn.ReLU6(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6())
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU6(), separable(8, 16, 1),
                                          separable(16, 32, 2))
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            return self.fc(self.features(x).mean(dim=(2, 3)))

    class Fire(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, stride=2)
            self.squeeze, self.e1, self.e3 = nn.Conv2d(16, 4, 1), nn.Conv2d(4, 8, 1), nn.Conv2d(4, 8, 3, padding=1)
            self.head = nn.Conv2d(16, 10, 1)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.stem(x)), 3, 2, ceil_mode=True)
            s = torch.relu(self.squeeze(x))
            x = torch.cat([torch.relu(self.e1(s)), torch.relu(self.e3(s))], 1)
            return torch.flatten(nn.functional.adaptive_avg_pool2d(torch.relu(self.head(x)), 1), 1)

    class DenseBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.layers = nn.ModuleList(
                nn.Sequential(nn.BatchNorm2d(8 + 4 * i), nn.ReLU(), nn.Conv2d(8 + 4 * i, 4, 3, padding=1))
                for i in range(3))
            self.fc = nn.Linear(20, 10)

        def forward(self, x):
            x = self.stem(x)
            for layer in self.layers:
                x = torch.cat([x, layer(x)], 1)
            x = nn.functional.avg_pool2d(x, 2)
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    class Inception(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = nn.Conv2d(3, 4, 1)
            self.b3 = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
            self.b5 = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU(), nn.Conv2d(2, 4, 5, padding=2))
            self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(3, 4, 1))
            self.fc = nn.Linear(18 * 8 * 8, 10)

        def forward(self, x):
            x = torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)
            return self.fc(torch.flatten(nn.functional.max_pool2d(torch.relu(x), 2), 1))

    class Conv1D(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv1d(4, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(),
                                          nn.MaxPool1d(2), nn.Conv1d(8, 16, 3, dilation=2), nn.ReLU())
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool1d(self.features(x), 1), 1))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
            self.bottom = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
            self.out = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            d = self.down(x)
            u = self.up(self.bottom(nn.functional.max_pool2d(d, 2)))
            return self.out(torch.cat([u, d], 1))

    class Squeezed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 12, 3), nn.Linear(12, 4)

        def forward(self, x):
            return self.fc(nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 1).squeeze())

    class Viewed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 6, 3, stride=2), nn.Linear(6 * 7 * 7, 4)

        def forward(self, x):
            y = torch.relu(self.conv(x))
            return self.fc(y.view(y.size(0), -1))

    return {"mlp": (MLP, (20,)), "lenet": (LeNet, (1, 28, 28)), "resnet": (ResNet, (3, 16, 16)),
            "vgg": (VGG, (3, 16, 16)), "mobilenet": (MobileNet, (3, 16, 16)), "squeezenet_fire": (Fire, (3, 17, 17)),
            "densenet_block": (DenseBlock, (3, 8, 8)), "inception_block": (Inception, (3, 16, 16)),
            "conv1d": (Conv1D, (4, 32)), "unet": (UNet, (1, 16, 16)), "squeeze": (Squeezed, (3, 10, 10)),
            "view": (Viewed, (3, 15, 15))}


FIXED_BATCH, TRACED_BATCH, DYNAMIC_BATCH = 1, 2, 3  # fixed: the usual export (x.squeeze() drops the batch)


def export_torch(net, sample, dynamic):
    """ONNX bytes of ``net`` exported at opset 17 (TorchScript exporter), with a fixed or a dynamic batch."""
    import torch

    x = torch.randn(TRACED_BATCH if dynamic else FIXED_BATCH, *sample)  # traced at 1, x.squeeze() drops the batch
    buffer = io.BytesIO()
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), buffer, input_names=["x"], output_names=["y"], opset_version=17,
                          dynamic_axes=axes, dynamo=False)
    return buffer.getvalue()


def check_torch(name, dynamic, seed=0):
    """max |graphnn - torch| / max(1, max |torch|) for one net and batch kind."""
    import onnx
    import torch

    from graphnn.interop.onnx_import import onnx_to_bundle

    factory, sample = torch_nets()[name]
    torch.manual_seed(seed)
    net = factory().eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    proto = onnx.load_model_from_string(export_torch(net, sample, dynamic))
    network = onnx_to_bundle(proto, name=name).network()
    x = torch.randn(DYNAMIC_BATCH if dynamic else FIXED_BATCH, *sample)
    with torch.no_grad():
        expected = net(x).numpy()
    output = network.plan.steps[-1].name
    got = network.forward({network.plan.inputs[0].name: x.numpy()}, keep=[output]).values[output]
    if got.shape != expected.shape and got.size == expected.size and not dynamic:
        got = got.reshape(expected.shape)  # x.squeeze() at a fixed batch of 1 drops it; graphnn keeps a batch axis
    if got.shape != expected.shape:
        raise AssertionError(f"output shape {got.shape}, PyTorch {expected.shape}")
    return float(np.max(np.abs(got - expected)) / max(1.0, float(np.max(np.abs(expected)))))


def part_pytorch(verbose=False, names=None):
    results = []
    try:
        nets = torch_nets()
    except ImportError as error:
        return [{"case": "pytorch", "group": "pytorch", "error": f"needs PyTorch (the bench extra): {error}"}]
    for name in names or nets:
        for dynamic in (False, True):
            case = f"{name} ({'dynamic' if dynamic else 'fixed'} batch)"
            try:
                worst = check_torch(name, dynamic)
                error = None if worst <= TORCH_TOLERANCE else f"max difference {worst:.2e}"
            except Exception as caught:  # noqa: BLE001 — measured, not raised
                error = first_line(caught)
            results.append({"case": case, "group": name, "error": error})
            if verbose:
                print(f"  {'pass' if error is None else 'FAIL'} {case}" + (f": {error}" if error else ""))
    return results


# --- reporting ------------------------------------------------------------------------------------------

PARTS = {"node": ("(a) ONNX node test cases using only issue 15's ops", part_node, 0.95),
         "models": ("(b) pytorch-converted, pytorch-operator, simple (no sequence/string/training ops)",
                    part_models, 0.90),
         "light": ("(c) light model-zoo architectures vs onnxruntime, random weights", part_light, 1.0),
         "pytorch": ("(d) PyTorch exports, fixed and dynamic batch, vs PyTorch", part_pytorch, 1.0)}


def report(title, results, target):
    groups = collections.defaultdict(list)
    for result in results:
        groups[result["group"]].append(result)
    passed = sum(result["error"] is None for result in results)
    print(f"{title}: {passed}/{len(results)} passed ({100 * passed / max(len(results), 1):.1f}%; "
          f"target {100 * target:.0f}%)")
    for group in sorted(groups):
        items = groups[group]
        ok = sum(item["error"] is None for item in items)
        print(f"  {group:<40} {ok}/{len(items)}")
        for item in items:
            if item["error"] is not None:
                print(f"      FAIL {item['case']}: {item['error']}")
            elif item.get("detail"):
                print(f"      pass {item['case']}: {item['detail']}")
    return passed, len(results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=list(PARTS), action="append", help="parts to run (default: all)")
    parser.add_argument("--verbose", action="store_true", help="one line per case as it runs")
    parser.add_argument("--json", help="write every case's result to this file")
    args = parser.parse_args(argv)
    summary, everything = [], {}
    for part in args.part or list(PARTS):
        title, function, target = PARTS[part]
        started = time.perf_counter()
        results = function(verbose=args.verbose)
        passed, total = report(title, results, target)
        print(f"  ({time.perf_counter() - started:.0f} s)\n")
        summary.append((title, passed, total, target))
        everything[part] = results
    print("summary:")
    for title, passed, total, target in summary:
        mark = "meets" if passed >= target * total else "below"
        print(f"  {title}: {passed}/{total} ({100 * passed / max(total, 1):.1f}%, {mark} the target "
              f"{100 * target:.0f}%)")
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
