"""The backend's floating-point type: a float32 graph stays float32 when its graph inputs also list
initializers (IR version 3 style), even an int64 one that no node reads (the light model-zoo files
list the shapes of their ConstantOfShape weights that way)."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

from graphnn.interop.onnx_backend import GraphnnBackend


def test_an_unread_int64_initializer_listed_as_an_input_keeps_float32():
    shape = numpy_helper.from_array(np.array([2, 3], np.int64), "unused_shape")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3]),
         helper.make_tensor_value_info("unused_shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], initializer=[shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    rep = GraphnnBackend.prepare(model)
    x = np.array([[-1.0, 0.5, 2.0]], np.float32)
    (y,) = rep.run([x])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert rep.prepared({"x": x}).dtype == np.float32
