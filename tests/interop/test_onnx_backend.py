"""ONNX's own backend test suite (``onnx.backend.test.BackendTest``) against graphnn's backend.

Every node test case of the installed onnx (one small model per operator and attribute combination, with
outputs computed in NumPy), the model tests of ``pytorch-converted``, ``pytorch-operator`` and ``simple``, and
the 9 model-zoo architectures of ``light`` (as the ``real`` kind) run through
``graphnn.interop.onnx_backend.GraphnnBackend`` on the CPU (the CUDA variants are skipped: graphnn does not
support that device). A case is expected to fail (``unittest.expectedFailure``, so an unexpected pass fails
the run and the list must shrink with it) when, and only when, ``expected_failure`` gives a reason:

- a node of its graph that reads a computed tensor is of an ONNX op type graphnn does not import
  (``UNSUPPORTED_OP``; a node whose inputs are all constants is folded, whatever its type): the reason names
  the op types; or
- it is listed in ``EXPECTED_FAILURES`` (one list, in this file): a pattern of test names and the reason.

``python tools/onnx_conformance.py`` measures the same cases with a table per op type. The tests at the end
check the backend's own behaviour: devices, inputs bound per value, open sizes, types, the batch rule, Shape
outputs, batch norms folded.
"""

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx", reason="the ONNX backend tests need 'onnx': pip install 'graphnn[onnx]'")

import onnx
import onnx.backend.test
from onnx import TensorProto, helper, numpy_helper
from onnx.backend.test.loader import load_model_tests

from graphnn.interop import onnx_backend
from graphnn.interop.onnx_backend import GraphnnBackend
from graphnn.interop.onnx_fold import FOLDERS
from graphnn.interop.onnx_import import HANDLERS

# the light models' dummy inputs are written under $ONNX_HOME: keep them out of the user's home
os.environ.setdefault("ONNX_HOME", str(Path(tempfile.gettempdir()) / "graphnn-onnx-home"))

IMPORTED = set(HANDLERS) | {"Shape", "Size", "Constant"}  # what graphnn imports from computed tensors
UNSUPPORTED_OP = "graphnn imports no ONNX {ops} from computed tensors (only folded, when every input is constant)"

EXPECTED_FAILURES = {  # test-name pattern -> why graphnn fails it
    r"^test_(cast|castlike)_\w*(FLOAT8|FLOAT4|INT4|UINT4|INT2|UINT2|e8m0)": "8-, 4- and 2-bit number types "
    "(graphnn computes in float32 or float64)",
    r"^test_castlike_FLOAT_to_BFLOAT16$": "a CastLike to bfloat16 of a computed tensor (graphnn computes in float32 "
    "or float64; only Cast gives the output's type)",
    r"^test_identity_(sequence|opt)$": "sequence and optional values (graphnn's tensors are tensors of numbers)",
    r"^test_training_dropout(_default)?(_mask)?$": "training-mode Dropout draws ONNX's random mask (graphnn "
    "imports inference graphs)",
    r"^test_batchnorm_\w*training": "BatchNormalization with training_mode=1 (graphnn imports inference graphs)",
    r"^test_slice_start_out_of_bounds$|^test_rotary_embedding(?!\w*rotary_dim)\w*_expanded": "a computed tensor "
    "with a size-0 axis (graphnn's shapes are >= 1)",
    r"^test_maxpool_with_argmax|^test_maxpool_2d_precomputed_same_upper_with_indices": "MaxPool's second "
    "output (argmax indices) is not computed",
    r"^test_maxpool_2d_\w*storage_order": "MaxPool storage_order=1",
    r"^test_flexattention\w*_expanded": "MatMul of two computed tensors (graphnn multiplies by constant weights)",
    r"^test_pad_\w*wrap": "Pad mode 'wrap' (graphnn pads constant, reflect, edge)",
    r"^test_Embedding": "Gather from a constant table by computed indices (an embedding lookup)",
    r"^test_causal_conv_with_state\w*_expanded|^test_center_crop_pad\w*_expanded": "Concat or Pad with a "
    "constant operand or computed pads (graphnn's concat joins computed tensors)",
}


def model_of(case):
    """A test case's model (node cases carry it; the others are loaded)."""
    if case.model is not None:
        return case.model
    if case.model_dir is not None:
        return onnx.load(os.path.join(case.model_dir, "model.onnx"))
    if case.url and case.url.startswith("onnx/backend/test/data/light/"):
        return onnx.load(str(Path(onnx.__file__).parents[1] / case.url))
    return None


def computed_ops(model):
    """The op types of the nodes that read a computed tensor (not only initializers, empty inputs, Constant
    outputs and what those fold to): the ones graphnn must import as ops."""
    if model is None:
        return set()
    known = {tensor.name for tensor in model.graph.initializer} | {""}
    empty = set()  # inputs with a size-0 axis hold no values: a node reading one is folded (its other inputs bound)
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims) and 0 in [d.dim_value for d in dims]:
            empty.add(value.name)
    known |= empty
    ops = set()
    for node in model.graph.node:
        folded = node.op_type in FOLDERS and (set(node.input) <= known or (node.input and node.input[0] in empty))
        if node.op_type in ("Constant", "Shape", "Size") or folded:
            known.update(node.output)
        else:
            ops.add(node.op_type)
    return ops


def expected_failure(name, ops):
    """Why test ``name`` (of a graph whose computed nodes are of the op types ``ops``) is expected to fail,
    or None when it must pass."""
    missing = sorted(ops - IMPORTED)
    if missing:
        return UNSUPPORTED_OP.format(ops=", ".join(missing))
    for pattern, reason in EXPECTED_FAILURES.items():
        if re.search(pattern, name):
            return reason
    return None


backend_test = onnx.backend.test.BackendTest(GraphnnBackend, __name__)
REASONS = {}
for kind in ("node", "real", "simple", "pytorch-converted", "pytorch-operator"):
    for case in load_model_tests(kind=kind):
        reason = expected_failure(case.name, computed_ops(model_of(case)))
        if reason is not None:
            REASONS[case.name] = reason
            backend_test.xfail(f"^{re.escape(case.name)}_cpu$")
globals().update(backend_test.test_cases)


# --- the backend's own behaviour ------------------------------------------------------------------------


def one_node_model(node, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph([node], "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def value(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def test_the_backend_runs_on_the_cpu_only_and_says_what_it_can_import():
    assert GraphnnBackend.supports_device("CPU") and not GraphnnBackend.supports_device("CUDA")
    relu = one_node_model(helper.make_node("Relu", ["x"], ["y"]), [value("x", TensorProto.FLOAT, [2, 3])],
                          [value("y", TensorProto.FLOAT, [2, 3])])
    cosine = one_node_model(helper.make_node("Cos", ["x"], ["y"]), [value("x", TensorProto.FLOAT, [2, 3])],
                            [value("y", TensorProto.FLOAT, [2, 3])])
    assert GraphnnBackend.is_compatible(relu) and not GraphnnBackend.is_compatible(cosine)
    assert not GraphnnBackend.is_compatible(relu, device="CUDA")
    x = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]], np.float32)
    for inputs in ([x], {"x": x}, x):
        (y,) = GraphnnBackend.run_model(relu, inputs)
        np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(GraphnnBackend.run_node(helper.make_node("Relu", ["x"], ["y"]), [x])[0],
                                  np.maximum(x, 0))


def test_inputs_in_weight_positions_are_bound_per_value():
    model = one_node_model(helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1]),
                           [value("x", TensorProto.FLOAT, [2, 3, 4, 4]), value("w", TensorProto.FLOAT, [5, 3, 1, 1])],
                           [value("y", TensorProto.FLOAT, [2, 5, 4, 4])])
    rep = GraphnnBackend.prepare(model)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    for _ in range(2):
        w = rng.normal(size=(5, 3, 1, 1)).astype(np.float32)
        np.testing.assert_allclose(rep.run([x, w])[0], np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x), rtol=1e-5,
                                   atol=1e-6)
    assert rep.bound == {"w"} and len(rep.cache) == 2


def test_open_sizes_are_fixed_per_run_and_types_are_the_graphs():
    model = one_node_model(helper.make_node("Add", ["a", "b"], ["y"]),
                           [value("a", TensorProto.INT64, ["n", "m"]), value("b", TensorProto.INT64, ["n", "m"])],
                           [value("y", TensorProto.INT64, ["n", "m"])])
    rep = GraphnnBackend.prepare(model)
    for shape in ((2, 3), (4, 1)):
        a = np.arange(np.prod(shape), dtype=np.int64).reshape(shape) * (2**40 + 1)  # exact only in float64
        (y,) = rep.run([a, a])
        assert y.dtype == np.int64 and y.shape == shape
        np.testing.assert_array_equal(y, 2 * a)


def test_a_graph_that_reaches_across_axis_0_runs_without_a_batch_axis():
    model = one_node_model(helper.make_node("Softmax", ["x"], ["y"], axis=0), [value("x", TensorProto.FLOAT, [3, 4])],
                           [value("y", TensorProto.FLOAT, [3, 4])])
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    (y,) = GraphnnBackend.run_model(model, [x])
    np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(axis=0), rtol=1e-5)
    from graphnn.interop.onnx_import import onnx_to_bundle

    bundle = onnx_to_bundle(model)
    assert bundle.metadata["imported_from"]["batched"] is False
    assert bundle.model.plan.inputs[0].out_shape == (3, 4)  # the whole tensor is one sample
    assert "without a batch axis" in bundle.model.document["description"]


def test_a_shape_output_gets_the_runs_batch_size():
    model = one_node_model(helper.make_node("Shape", ["x"], ["y"]), [value("x", TensorProto.FLOAT, ["N", 3])],
                           [value("y", TensorProto.INT64, [2])])
    for batch in (1, 5):
        (y,) = GraphnnBackend.run_model(model, [np.zeros((batch, 3), np.float32)])
        np.testing.assert_array_equal(y, [batch, 3])


def test_batch_norms_after_convolutions_are_folded_for_inference():
    rng = np.random.default_rng(2)
    inits = [numpy_helper.from_array(a.astype(np.float32), name) for name, a in (
        ("w", rng.normal(size=(4, 3, 3, 3))), ("s", rng.uniform(0.5, 1.5, 4)), ("b", rng.normal(size=4)),
        ("m", rng.normal(size=4)), ("v", rng.uniform(0.5, 1.5, 4)))]
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
                               helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])], "g",
                              [value("x", TensorProto.FLOAT, ["N", 3, 6, 6])], [value("y", TensorProto.FLOAT, None)],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.normal(size=(2, 3, 6, 6)).astype(np.float32)
    folded, plain = (onnx_backend.GraphnnBackend.prepare(model, fold_batchnorm=fold) for fold in (True, False))
    np.testing.assert_allclose(folded.run([x])[0], plain.run([x])[0], rtol=1e-4, atol=1e-5)
    ops = [[s.op.name for s in next(iter(rep.cache.values())).network.plan.steps] for rep in (folded, plain)]
    assert ops == [["data", "conv2d"], ["data", "conv2d", "batchnorm"]]
