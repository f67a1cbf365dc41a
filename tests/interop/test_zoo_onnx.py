"""The zoo's ImageNet networks (models/resnet18.json, resnet50, vgg16, googlenet, densenet121, mobilenet) export to
ONNX and onnxruntime computes what graphnn computes, on one 224x224 image each (the smaller zoo models go
through every check of tests/interop/test_onnx.py). VGG-16 (138M parameters, about 35 s here) is marked slow;
the others take 1-15 s each."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX tests need 'onnx': pip install 'graphnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime: pip install graphnn[onnx]")

from graphnn.executor import Network
from graphnn.interop.onnx_export import network_to_onnx
from graphnn.model import load_model

SLOW = {"vgg16"}  # over 20 s here (export, onnxruntime's session, graphnn's forward)
IMAGENET = ["resnet18", "googlenet", "densenet121", "mobilenet", "resnet50", "vgg16"]


def zoo_network(name):
    """The zoo model with its fillers' weights, and batch-norm statistics and shifts drawn at random (so that
    batch norm is not the identity it is when fresh)."""
    network = Network.initialise(load_model(name), seed=0)
    rng = np.random.default_rng(0)
    for arrays in network.state.values():
        for key, array in arrays.items():
            array[...] = rng.uniform(0.5, 1.5, array.shape) if key == "running_var" else rng.normal(0, 0.1, array.shape)
    for arrays in network.weights.values():
        for key, array in arrays.items():
            if array.ndim == 1:  # biases, batch norm's gamma and beta
                array[...] += rng.normal(0, 0.1, array.shape)
    return network


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
                                  for name in IMAGENET])
def test_imagenet_zoo_model_matches_onnxruntime(name):
    network = zoo_network(name)
    proto = network_to_onnx(network, softmax=False)
    onnx.checker.check_model(proto)
    image = np.random.default_rng(1).normal(size=(1, 3, 224, 224)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["fc"], {"image": image})
    expected = network.forward({"image": image}, until="fc").values["fc"]
    assert logits.shape == expected.shape == (1, 1000)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4 * scale)
    assert scale > 0 and np.isfinite(expected).all()
