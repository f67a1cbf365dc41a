"""Imported ONNX networks train: a ResNet-style and a SqueezeNet-style network, written as ONNX files (He
initialised, Softmax last), imported with ``loss="softmax_cross_entropy"`` (the Softmax becomes the loss)
and fine-tuned on MNIST resized to 14x14 (2x2 means: four times less work, so the test stays short)
through graphnn's Model.fit for 100 iterations of 32; the test loss falls and the accuracy rises, and the
trained network exports back to ONNX and gives onnxruntime's outputs.
"""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX tests need 'onnx': pip install 'graphnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime: pip install graphnn[onnx]")

from onnx import TensorProto, helper, numpy_helper

from graphnn.api import Model
from graphnn.datasets import load
from graphnn.interop.onnx_export import network_to_onnx
from graphnn.interop.onnx_import import onnx_to_bundle
from graphnn.model import model_from_dict


class Writer:
    """An ONNX graph written node by node, with He-initialised weights."""

    def __init__(self, seed):
        self.rng, self.nodes, self.inits, self.count = np.random.default_rng(seed), [], [], 0

    def weight(self, shape, fan_in=None, scale=None):
        self.count += 1
        name = f"w{self.count}"
        fan_in = fan_in or int(np.prod(shape[1:]))
        value = self.rng.normal(0, scale if scale is not None else np.sqrt(2 / fan_in), shape)
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def node(self, op, inputs, **attributes):
        self.count += 1
        output = f"t{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=f"{op.lower()}{self.count}", **attributes))
        return output

    def conv(self, x, cin, cout, kernel, stride=1, relu=True, bn=False):
        y = self.node("Conv", [x, self.weight((cout, cin, kernel, kernel)), self.weight((cout,), scale=0.0)],
                      kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[kernel // 2] * 4)
        if bn:
            gamma, beta = self.weight((cout,), scale=0.0), self.weight((cout,), scale=0.0)
            self.inits[-2] = numpy_helper.from_array(np.ones(cout, np.float32), gamma)
            mean, var = self.weight((cout,), scale=0.0), self.weight((cout,), scale=0.0)
            self.inits[-1] = numpy_helper.from_array(np.ones(cout, np.float32), var)
            y = self.node("BatchNormalization", [y, gamma, beta, mean, var], epsilon=1e-5, momentum=0.9)
        return self.node("Relu", [y]) if relu else y

    def model(self, output, name):
        graph = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                                   ["N", 1, SIZE, SIZE])],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", 10])], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def resnet_style():
    w = Writer(0)
    x = w.conv("image", 1, 8, 3, bn=True)
    y = w.conv(x, 8, 8, 3, bn=True)
    y = w.conv(y, 8, 8, 3, relu=False, bn=True)
    x = w.node("Relu", [w.node("Add", [x, y])])  # the residual block
    x = w.conv(x, 8, 16, 3, stride=2, bn=True)
    x = w.node("Flatten", [w.node("GlobalAveragePool", [x])], axis=1)
    x = w.node("Gemm", [x, w.weight((10, 16), fan_in=16), w.weight((10,), scale=0.0)], transB=1)
    return w.model(w.node("Softmax", [x], axis=1), "resnet_style")


def squeezenet_style():
    w = Writer(1)
    x = w.conv("image", 1, 16, 3, stride=2)
    x = w.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    squeezed = w.conv(x, 16, 8, 1)
    x = w.node("Concat", [w.conv(squeezed, 8, 16, 1), w.conv(squeezed, 8, 16, 3)], axis=1)  # the fire module
    x = w.conv(w.node("Dropout", [x]), 32, 10, 1)
    x = w.node("Flatten", [w.node("GlobalAveragePool", [x])], axis=1)
    return w.model(w.node("Softmax", [x], axis=1), "squeezenet_style")


SIZE = 14
TRAIN = {"data": {"dataset": "mnist", "split": "train"}, "batch_size": 32, "iterations": 100, "seed": 0,
         "solver": {"type": "adam"}, "lr": {"policy": "fixed", "base_lr": 0.01}}


def resized(images):
    """(N, 28, 28) uint8 -> (N, 1, 14, 14) float32 in [0, 1]: means of 2x2 blocks."""
    x = images.astype(np.float32).reshape(len(images), 14, 2, 14, 2).mean(axis=(2, 4)) / 255
    return x.reshape(len(images), 1, SIZE, SIZE)


@pytest.mark.parametrize("build", [resnet_style, squeezenet_style], ids=["resnet", "squeezenet"])
def test_an_imported_network_fine_tunes_on_mnist(build, mnist_dir, tmp_path):
    proto = build()
    bundle = onnx_to_bundle(proto, loss="softmax_cross_entropy")
    steps = bundle.model.plan.steps
    assert steps[-1].op.name == "loss"  # the final Softmax became the loss
    assert not [s for s in steps if s.op.name == "activation" and s.op.params["function"] == "softmax"]
    definition = model_from_dict({**bundle.model.document, "train": TRAIN})
    model = Model.of(definition, bundle.network(), bundle.metadata)
    x, y = load("mnist", "train", data_dir=mnist_dir)
    x_test, y_test = load("mnist", "test", data_dir=mnist_dir)
    x, y, x_test, y_test = resized(x[:3200]), y[:3200], resized(x_test[:500]), y_test[:500]
    before = model.evaluate(x_test, y_test)
    model.fit(x, y, iterations=100, batch_size=32, verbose=0, run_dir=str(tmp_path / "run"))
    after = model.evaluate(x_test, y_test)
    assert after["loss"] < 0.9 * before["loss"], (before, after)
    assert after["accuracy"] > before["accuracy"] + 0.15, (before, after)
    exported = network_to_onnx(model.network, softmax=True)  # the trained network goes back to ONNX
    images = x_test[:8]
    session = ort.InferenceSession(exported.SerializeToString(), providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {"image": images})[0]
    np.testing.assert_allclose(probabilities, model.predict(images), rtol=1e-4, atol=1e-5)
