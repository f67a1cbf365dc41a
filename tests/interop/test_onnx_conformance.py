"""A fast subset of tools/onnx_conformance.py, the measurement of issue 15's four targets.

(a) a few node cases of issue 15's ops and (b) a few pytorch-converted/operator cases through the script's
own comparison (ONNX's tolerances; tests/interop/test_onnx_backend.py runs all of them), (c) the two
lightest model-zoo architectures against onnxruntime on random weights, (d) two PyTorch nets, with a fixed and
a dynamic batch, against PyTorch (needs the bench extra), and the script's report.
"""

import importlib.util

import pytest

pytest.importorskip("onnx", reason="the ONNX tests need 'onnx': pip install 'graphnn[onnx]'")
pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime: pip install graphnn[onnx]")

from tests.helpers import ROOT

spec = importlib.util.spec_from_file_location("onnx_conformance", ROOT / "tools" / "onnx_conformance.py")
conformance = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conformance)

NODE_CASES = ["test_conv_with_strides_padding", "test_gemm_all_attributes", "test_softmax_axis_0",
              "test_matmul_4d", "test_reshape_negative_dim", "test_reduce_mean_keepdims_example"]
MODEL_CASES = ["test_Conv3d_dilated", "test_PixelShuffle", "test_operator_chunk", "test_GLU_dim"]


@pytest.fixture(scope="module")
def node_cases():
    return [case for case in conformance.node_cases() if case.name in NODE_CASES]


def test_node_cases_pass_with_onnx_tolerances(node_cases):
    assert sorted(case.name for case in node_cases) == sorted(NODE_CASES)  # all of them use issue 15's ops
    results = conformance.part_node(cases=node_cases)
    assert [r for r in results if r["error"] is not None] == []


def test_model_cases_pass_with_onnx_tolerances():
    cases = [case for case in conformance.model_cases() if case["case"] in MODEL_CASES]
    assert len(cases) == len(MODEL_CASES)
    assert [r for r in conformance.part_models(cases=cases) if r["error"] is not None] == []


def test_the_model_kinds_hold_124_cases_without_sequence_string_or_training_ops():
    assert len(conformance.model_cases()) == 124


@pytest.mark.parametrize("name", ["squeezenet", "shufflenet"])
def test_light_architecture_matches_onnxruntime_on_random_weights(name):
    worst, _ = conformance.check_light(name)
    assert worst <= conformance.LIGHT_TOLERANCE


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("dynamic", [False, True], ids=["fixed", "dynamic"])
@pytest.mark.parametrize("name", ["view", "squeeze"])
def test_pytorch_export_matches_pytorch(name, dynamic):
    pytest.importorskip("torch", reason="needs PyTorch (the bench extra)")
    assert conformance.check_torch(name, dynamic) <= conformance.TORCH_TOLERANCE


def test_the_report_counts_and_lists_failures(capsys):
    results = [{"case": "a", "group": "Conv", "error": None}, {"case": "b", "group": "Conv", "error": "boom"},
               {"case": "c", "group": "Relu", "error": None}]
    assert conformance.report("(x) cases", results, 0.95) == (2, 3)
    out = capsys.readouterr().out
    assert "(x) cases: 2/3 passed (66.7%; target 95%)" in out and "FAIL b: boom" in out
