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

``python tools/onnx_conformance.py`` measures the same cases with a table per op type.
"""

import os
import re
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("onnx", reason="the ONNX backend tests need 'onnx': pip install 'graphnn[onnx]'")

import onnx
import onnx.backend.test
from onnx.backend.test.loader import load_model_tests

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
