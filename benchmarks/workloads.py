"""The benchmark workloads: one network, data, batch, solver and iteration count, shared by every contender.

Every contender trains with momentum SGD in Caffe's form at a fixed learning rate,

    v <- momentum * v + lr * (g + weight_decay * W);   W <- W - v      (biases: no weight decay)

which PyTorch's SGD (``weight_decay`` on the weight group only) and scikit-learn's MLPClassifier
(``alpha = weight_decay * batch_size``, its penalty being divided by the batch) compute too. The training
set is the first ``batches_per_epoch * batch_size`` MNIST images, so that scikit-learn's whole epochs and
everyone's iteration count agree exactly.
"""

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRAIN_SIZE = 60000


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    model_file: str  # graphnn model file the network comes from (relative to the repository)
    batch_size: int
    epochs: int  # whole passes over the (trimmed) training set
    lr: float
    weight_decay: float
    momentum: float = 0.9
    hidden: tuple = ()  # hidden widths of an MLP; () for a network only graphnn and PyTorch build
    units: dict = field(default_factory=dict)  # node -> units, overriding the model file (the wide MLP)
    test_batch_size: int = 1000
    quick_iterations: int = 10
    requires_ops: tuple = ()  # graphnn ops the model needs (LeNet waits for conv2d)
    max_iterations: int = 0  # 0: ``epochs`` whole epochs; else stop after this many iterations

    @property
    def is_mlp(self):
        return bool(self.hidden)

    @property
    def train_size(self):
        return TRAIN_SIZE // self.batch_size * self.batch_size

    @property
    def iterations(self):
        whole = self.epochs * self.train_size // self.batch_size
        return min(whole, self.max_iterations) if self.max_iterations else whole

    def schedule(self, quick=False):
        """(iterations, training samples used, test samples) for a full or a --quick run."""
        if quick:
            return self.quick_iterations, self.quick_iterations * self.batch_size, 500
        return self.iterations, self.train_size, 10000

    def document(self, iterations):
        """The graphnn model document: the model file with this workload's widths and train section."""
        document = json.loads((REPO / self.model_file).read_text())
        document = copy.deepcopy(document)
        document["name"] = self.name
        for node in document["nodes"]:
            if node["name"] in self.units:
                node["units"] = self.units[node["name"]]
        train = document["train"]
        train.update(batch_size=self.batch_size, iterations=iterations, seed=0, dtype="float32",
                     display_interval=max(iterations, 1))
        train.pop("test_interval", None)
        train["solver"] = {"type": "sgd", "momentum": self.momentum, "weight_decay": self.weight_decay}
        train["lr"] = {"policy": "fixed", "base_lr": self.lr}
        document["test"]["batch_size"] = self.test_batch_size
        return document

    def available(self):
        """None when graphnn can build this workload here, else the reason it cannot."""
        if self.requires_ops:
            from graphnn import ops

            missing = [op for op in self.requires_ops if op not in ops.names()]
            if missing:
                return f"graphnn has no {', '.join(missing)} op yet"
        if not (REPO / self.model_file).exists():
            return f"{self.model_file} does not exist yet"
        return None


WORKLOADS = {
    "mlp784": Workload(
        "mlp784", "the 784-50-50-10 tanh MLP (models/mlp784.json), batch 100, 2 epochs",
        "models/mlp784.json", batch_size=100, epochs=2, lr=0.1, weight_decay=0.001, hidden=(50, 50),
        quick_iterations=20),
    "wide": Workload(
        "wide", "784-1024-1024-10 tanh MLP, batch 256, 1 epoch (bound by matrix products)",
        "models/mlp784.json", batch_size=256, epochs=1, lr=0.02, weight_decay=0.001, hidden=(1024, 1024),
        units={"fc1": 1024, "fc2": 1024}, quick_iterations=3),
    # LeNet: graphnn and PyTorch only (scikit-learn has no convolutions; the NumPy loop is MLP-only).
    "lenet": Workload(
        "lenet", "Caffe's LeNet (models/lenet.json: conv 5x5x20, pool, conv 5x5x50, pool, fc 500, relu, fc 10), "
        "batch 64, 1 epoch", "models/lenet.json", batch_size=64, epochs=1,
        lr=0.01, weight_decay=0.0005, quick_iterations=2, requires_ops=("conv2d", "maxpool2d")),
    # The small MNIST ResNet of the zoo (blocks, batch norm, residual adds): graphnn and PyTorch (contenders.py's
    # torch_graph runs the expanded graph in graphnn's plan order). 200 iterations: timing, not accuracy.
    "resnet-mnist": Workload(
        "resnet-mnist", "the small MNIST ResNet (models/resnet-mnist.json: conv 3x3x16, max pool, three stages of "
        "two BasicBlocks, 16/32/64 channels, global average pool, fc 10), batch 64, 200 iterations",
        "models/resnet-mnist.json", batch_size=64, epochs=1, lr=0.05, weight_decay=0.0005, quick_iterations=2,
        requires_ops=("conv2d", "batchnorm", "global_avgpool"), max_iterations=200),
}
DEFAULT = ("mlp784", "wide", "lenet")
