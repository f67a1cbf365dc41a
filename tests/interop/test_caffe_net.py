"""Caffe nets as graphnn model documents (graphnn/interop/caffe_net.py): every mapped layer type
(tests/fixtures/caffe/every_layer.prototxt), Caffe's net semantics (phases and stages, in-place tops, blob
versus layer names, fan-out, per-blob multipliers, the old V1 layers and input fields, Data layers with
--dataset or their LMDB source), and each refusal as one located line naming the layer."""

from pathlib import Path

import numpy as np
import pytest

from graphnn.errors import GraphnnError
from graphnn.interop.caffe_net import import_caffe
from graphnn.model.load import model_from_dict
from tests.interop.test_caffe_lmdb import datum, write_lmdb

FIXTURES = Path(__file__).parent.parent / "fixtures" / "caffe"
INPUT = 'layer { name: "in" type: "Input" top: "data" top: "label" ' \
        'input_param { shape { dim: 4 dim: 3 dim: 8 dim: 8 } shape { dim: 4 } } }\n'
IP = 'inner_product_param {{ num_output: {n} weight_filler {{ type: "xavier" }} }}'


def write(tmp_path, text, name="net.prototxt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def nodes_of(tmp_path, text, **options):
    document = import_caffe(write(tmp_path, text), **options)
    model_from_dict(document)  # a valid model
    return {node["name"]: node for node in document["nodes"]}


def refused(tmp_path, text, **options):
    """The one-line error importing ``text`` gives (its location checked to be in the net file)."""
    with pytest.raises(GraphnnError) as caught:
        import_caffe(write(tmp_path, text), **options)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "net.prototxt"))
    return message


def test_sparse_gaussian_fillers_import_as_caffes_mnist_autoencoder_writes_them(tmp_path):
    nodes = nodes_of(tmp_path, INPUT + 'layer { name: "f" type: "InnerProduct" bottom: "data" top: "f" '
                     'inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 1 sparse: 15 } } }')
    assert nodes["f"]["init"] == {"type": "gaussian", "mean": 0.0, "std": 1.0, "sparse": 15}


def test_an_input_top_read_as_a_label_is_the_label_field(tmp_path):
    nodes = nodes_of(tmp_path, INPUT + 'layer { name: "f" type: "InnerProduct" bottom: "data" top: "f" '
                     + IP.format(n=3) + ' }\nlayer { name: "loss" type: "SoftmaxWithLoss" bottom: "f" '
                     'bottom: "label" top: "loss" }')
    assert nodes["data"]["field"] == "x" and nodes["label"]["field"] == "y" and nodes["label"]["shape"] == []


def test_every_layer():
    document = import_caffe(FIXTURES / "every_layer.prototxt")
    model = model_from_dict(document)
    nodes = {node["name"]: node for node in document["nodes"]}
    shapes = {step.name: step.out_shape for step in model.plan.steps}
    assert nodes["conv"] == {
        "name": "conv", "op": "conv2d", "inputs": ["data"], "filters": 8, "kernel": [3, 1], "padding": [1, 0],
        "groups": 2, "init": {"type": "msra", "variance_norm": "fan_out"},
        "bias_init": {"type": "constant", "value": 0.1}, "lr_mult": {"b": 2.0}, "decay_mult": {"b": 0.0}}
    assert nodes["bn"]["op"] == "batchnorm" and nodes["bn"]["affine"] is False
    assert (nodes["bn"]["momentum"], nodes["bn"]["epsilon"]) == (0.99, 0.001)
    assert nodes["scale"]["op"] == "scale" and nodes["scale"]["inputs"] == ["bn"] and nodes["scale"]["bias"] is True
    assert nodes["relu"] == {"name": "relu", "op": "activation", "inputs": ["scale"], "function": "leaky_relu",
                             "negative_slope": 0.1}
    assert nodes["lrn_across"]["bias"] == 2.0 and nodes["lrn_within"]["region"] == "within_channel"
    assert nodes["maxpool"] == {"name": "maxpool", "op": "maxpool2d", "inputs": ["lrn_within"], "kernel": 3,
                                "stride": 2, "padding": 1, "ceil_mode": True}
    assert nodes["avepool"]["op"] == "avgpool2d" and nodes["avepool"]["kernel"] == 2
    assert nodes["globalpool"] == {"name": "globalpool", "op": "reduce", "inputs": ["avepool"], "function": "mean",
                                   "axes": [2, 3], "keepdims": True}
    assert nodes["deconv"]["op"] == "conv_transpose2d" and nodes["deconv"]["init"] == "bilinear"
    assert nodes["prelu"]["init"] == {"type": "constant", "value": 0.25}
    assert nodes["elu"]["function"] == "elu" and nodes["elu"]["alpha"] == 0.5
    assert nodes["absval"]["function"] == "abs" and nodes["bnll"]["function"] == "softplus"
    assert nodes["power_mul"] == {"name": "power_mul", "op": "binary", "inputs": ["sigmoid"], "function": "mul",
                                  "constant": 0.5}
    assert nodes["power_add"]["constant"] == 1.0 and nodes["power_add"]["inputs"] == ["power_mul"]
    assert nodes["power"] == {"name": "power", "op": "binary", "inputs": ["power_add"], "function": "pow",
                              "constant": 2.0}
    assert nodes["sum"] == {"name": "sum", "op": "add", "inputs": ["tanh", "power"], "coeff": [1.0, -1.0]}
    assert nodes["prod"]["op"] == "multiply" and nodes["max"]["op"] == "maximum"
    assert nodes["part_a"]["op"] == "slice" and (nodes["part_a"]["starts"], nodes["part_a"]["ends"]) == ([0], [3])
    assert (nodes["part_b"]["starts"], nodes["part_b"]["ends"]) == ([3], [8])
    assert nodes["drop"]["inputs"] == ["part_a"] and nodes["reshape"]["inputs"] == ["part_a"]  # Split: fan-out
    assert nodes["flat"]["inputs"] == ["drop"]
    assert nodes["reshape"]["shape"] == [-1, 10] and shapes["reshape"] == (30, 10)
    assert nodes["ip"]["bias_init"] == {"type": "uniform", "min": -0.1, "max": 0.1}
    assert nodes["ip_axis"]["axis"] == 2 and shapes["ip_axis"] == (30, 5)
    assert nodes["accuracy"] == {"name": "accuracy", "op": "accuracy", "inputs": ["ip", "label"], "top_k": 2}
    assert nodes["regress"]["loss_weight"] == 0.5 and nodes["logistic"]["loss_weight"] == 0.0
    assert "silence" not in nodes and "split" not in nodes


def test_blob_and_layer_names_in_place_and_fan_out(tmp_path):
    nodes = nodes_of(tmp_path, INPUT + f"""
layer {{ name: "fc" type: "InnerProduct" bottom: "data" top: "hidden" {IP.format(n=6)} }}
layer {{ name: "act" type: "ReLU" bottom: "hidden" top: "hidden" }}
layer {{ name: "drop" type: "Dropout" bottom: "hidden" top: "hidden" }}
layer {{ name: "a" type: "InnerProduct" bottom: "hidden" top: "a" {IP.format(n=4)} }}
layer {{ name: "b" type: "InnerProduct" bottom: "hidden" top: "b" {IP.format(n=4)} }}
layer {{ name: "join" type: "Eltwise" bottom: "a" bottom: "b" top: "join" }}
layer {{ name: "loss" type: "SoftmaxWithLoss" bottom: "join" bottom: "label" top: "loss" }}
""")
    assert nodes["act"]["inputs"] == ["fc"] and nodes["drop"]["inputs"] == ["act"]
    assert nodes["a"]["inputs"] == ["drop"] and nodes["b"]["inputs"] == ["drop"]
    assert nodes["join"] == {"name": "join", "op": "add", "inputs": ["a", "b"]}
    assert nodes["fc"]["init"] == {"type": "xavier", "variance_norm": "fan_in"}
    assert nodes["fc"]["bias_init"] == {"type": "constant", "value": 0.0}


def test_names_made_graphnn_names(tmp_path):
    nodes = nodes_of(tmp_path, INPUT + """
layer { name: "inception/1x1" type: "ReLU" bottom: "data" top: "inception/1x1" }
layer { name: "inception/1x1" type: "TanH" bottom: "inception/1x1" top: "t" }
layer { name: "3a" type: "Sigmoid" bottom: "t" top: "s" }
""")
    assert nodes["inception_1x1"]["function"] == "relu"
    assert nodes["inception_1x1_2"]["inputs"] == ["inception_1x1"]
    assert nodes["_3a"]["inputs"] == ["inception_1x1_2"]


STAGED = """name: "staged"
layer { name: "train_in" type: "Data" top: "data" top: "label" include { phase: TRAIN }
        transform_param { scale: 0.00390625 } data_param { source: "mnist_train_lmdb" batch_size: 32 backend: LMDB } }
layer { name: "on_train" type: "Data" top: "data" top: "label" include { phase: TEST stage: "test-on-train" }
        transform_param { scale: 0.00390625 } data_param { source: "mnist_train_lmdb" batch_size: 50 backend: LMDB } }
layer { name: "on_test" type: "Data" top: "data" top: "label" include { phase: TEST not_stage: "test-on-train" }
        transform_param { scale: 0.00390625 } data_param { source: "held_out" batch_size: 100 backend: LMDB } }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc"
        inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "deploy_only" type: "Softmax" bottom: "fc" top: "prob" include { stage: "deploy" } }
layer { name: "accuracy" type: "Accuracy" bottom: "fc" bottom: "label" top: "accuracy" include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" exclude { stage: "deploy" } }
"""


def test_phases_and_stages(tmp_path):
    path = write(tmp_path, STAGED)
    plain = import_caffe(path, dataset="mnist")
    assert [node["name"] for node in plain["nodes"]] == ["data", "label", "fc", "accuracy", "loss"]
    assert plain["test"] == {"data": {"dataset": "mnist", "split": "test"}, "batch_size": 100}  # by the phase
    on_train = import_caffe(path, dataset="mnist", stages=["test-on-train"])
    assert on_train["test"] == {"data": {"dataset": "mnist", "split": "train"}, "batch_size": 50}  # by the name
    model_from_dict(on_train)


def test_a_test_only_layer_is_refused(tmp_path):
    message = refused(tmp_path, STAGED, dataset="mnist", stages=["deploy"])
    assert "layer 'deploy_only' (Softmax): is only in a TEST net" in message


def test_v1_layers(tmp_path):
    nodes = nodes_of(tmp_path, """input: "data" input_dim: 2 input_dim: 1 input_dim: 6 input_dim: 6
layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv" blobs_lr: 1 blobs_lr: 2 weight_decay: 1
         weight_decay: 0 convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: "xavier" } } }
layers { name: "relu" type: RELU bottom: "conv" top: "conv" }
layers { name: "pool" type: POOLING bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
""")
    assert nodes["data"] == {"name": "data", "op": "data", "shape": [1, 6, 6], "field": "x"}
    assert nodes["conv"]["lr_mult"] == {"b": 2.0} and nodes["conv"]["decay_mult"] == {"b": 0.0}
    assert nodes["pool"]["inputs"] == ["relu"]


def test_input_shape(tmp_path):
    nodes = nodes_of(tmp_path, 'input: "a" input_shape { dim: 1 dim: 5 } input: "b" input_shape { dim: 1 dim: 5 }\n'
                               'layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" }')
    assert nodes["a"]["shape"] == [5] and nodes["sum"]["inputs"] == ["a", "b"]


def test_lmdb_source_kept(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(8, 1, 6, 6), dtype=np.uint8)
    (tmp_path / "db").mkdir()
    write_lmdb(tmp_path / "db" / "digits_train_lmdb", [datum(image, index % 2) for index, image in enumerate(images)])
    text = ('layer { name: "d" type: "Data" top: "data" top: "label" transform_param { crop_size: 4 mirror: true }'
            ' data_param { source: "db/digits_train_lmdb" batch_size: 4 backend: LMDB } }\n'
            f'layer {{ name: "fc" type: "InnerProduct" bottom: "data" top: "fc" {IP.format(n=2)} }}\n'
            'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }\n')
    (tmp_path / "out").mkdir()
    document = import_caffe(write(tmp_path, text), output_root=tmp_path / "out")
    data = document["nodes"][0]
    assert data["shape"] == [1, 4, 4] and data["transform"] == {"scale": 1.0, "mirror": True, "crop_size": 4}
    assert document["test"]["data"] == {"path": "../db/digits_train_lmdb"}


@pytest.mark.parametrize("text, words", [
    (INPUT + 'layer { name: "h5" type: "HDF5Data" top: "x" }', ("layer 'h5' (HDF5Data): graphnn cannot map Caffe "
                                                               "layer type 'HDF5Data'; it maps AbsVal, Accuracy, ")),
    (INPUT + 'layer { name: "py" type: "Python" bottom: "data" top: "p" python_param { module: "m" } }',
     "layer 'py' (Python): graphnn cannot map Caffe layer type 'Python'"),
    (INPUT + 'layer { name: "bn" type: "BN" bottom: "data" top: "bn" bn_param { scale_filler { value: 1 } } }',
     "layer 'bn' (BN): graphnn cannot map Caffe layer type 'BN'"),
    (INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_parm { num_output: 1 } }',
     "unknown field 'convolution_parm' (did you mean 'convolution_param'?)"),
    (INPUT + 'layer { name: "r" type: "ReLU" bottom: "nothing" top: "r" }',
     "layer 'r' (ReLU): bottom 'nothing' (bottom index 0) is not the top of any earlier layer"),
    (INPUT + 'layer { name: "r" type: "ReLU" bottom: "data" top: "label" }', "top 'label' is already written"),
    (INPUT + 'layer { name: "r" type: "ReLU" bottom: "later" top: "x" }\n'
             'layer { name: "s" type: "ReLU" bottom: "x" top: "later" }', "bottom 'later'"),
    (INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { kernel_size: 3 } }',
     "layer 'c' (Convolution): needs convolution_param { num_output: N }"),
    (INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
             'convolution_param { num_output: 2 kernel_size: 3 kernel_size: 3 kernel_size: 3 } }',
     "kernel_size has 3 values; give 1 or 2"),
    (INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
             'convolution_param { num_output: 2 kernel_size: 30 } }', "layer 'c' (Convolution): "),
    (INPUT + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: STOCHASTIC '
             'kernel_size: 2 } }', "stochastic pooling is not supported"),
    (INPUT + 'layer { name: "a" type: "InnerProduct" bottom: "data" top: "a" param { name: "w" } '
             + IP.format(n=2) + ' }\nlayer { name: "b" type: "InnerProduct" bottom: "data" top: "b" '
             'param { name: "w" } ' + IP.format(n=2) + ' }', "shares parameter 'w' with layer 'a'"),
    (INPUT + 'layer { name: "a" type: "InnerProduct" bottom: "data" top: "a" param { } param { } param { } '
             + IP.format(n=2) + ' }', "has 3 param specs; a InnerProduct layer has 2 blobs"),
    (INPUT + 'layer { name: "r" type: "ReLU" bottom: "data" top: "r" loss_weight: 1 }', "loss_weight on a layer"),
    (INPUT + 'layer { name: "l" type: "SoftmaxWithLoss" bottom: "data" bottom: "label" top: "l" '
             'loss_param { ignore_label: 255 } }', "ignore_label is not supported"),
    (INPUT + 'layer { name: "f" type: "InnerProduct" bottom: "data" top: "f" inner_product_param { num_output: 2 '
             'weight_filler { type: "gaussian" sparse: -2 } } }', "gaussian sparse must be -1 (dense) or >= 0; got -2"),
    (INPUT + 'layer { name: "f" type: "InnerProduct" bottom: "data" top: "f" inner_product_param { num_output: 2 '
             'weight_filler { type: "orthogonal" } } }', "unknown filler type 'orthogonal'"),
    (INPUT + 'layer { name: "s" type: "Slice" bottom: "data" top: "a" top: "b" slice_param { slice_point: 9 } }',
     "slice_point [9] must be 1 increasing points inside 1..2"),
    (('layer { name: "d" type: "Data" top: "data" data_param { source: "nowhere_lmdb" batch_size: 4 '
     'backend: LMDB } }'), "source 'nowhere_lmdb' is not an LMDB folder"),
    ('layer { name: "d" type: "Data" top: "data" data_param { source: "x" batch_size: 4 } }',
     "the LEVELDB backend is not read"),
    ('input: "x" input_dim: 1 input_dim: 2', "2 input_dim for 1 input"),
    ('input: "x" input_shape { dim: 1 dim: -3 }', "input 'x' has shape [1, -3]"),
    ('layer { name: "a" type: "ReLU" } layers { name: "b" type: RELU }', "not both"),
])
def test_refused(tmp_path, text, words):
    assert words in refused(tmp_path, text)


def test_layer_count_limit(tmp_path, monkeypatch):
    from graphnn.interop import caffe_net

    monkeypatch.setattr(caffe_net, "MAX_NODES", 3)
    message = refused(tmp_path, INPUT + 'layer { name: "r" type: "ReLU" bottom: "data" top: "data" }\n' * 3)
    assert "more than 3 layers" in message and ":4:1:" in message


def test_huge_sizes_refused_before_allocating(tmp_path):
    message = refused(tmp_path, INPUT + 'layer { name: "f" type: "InnerProduct" bottom: "data" top: "f" '
                                        'inner_product_param { num_output: 4000000000 } }')
    assert "layer 'f' (InnerProduct): " in message and "the limit is" in message
    message = refused(tmp_path, 'input: "x" input_shape { dim: 1 dim: 100000 dim: 100000 dim: 100000 }')
    assert "the limit is" in message


# ----- the command line

CIFAR = FIXTURES / "cifar10_quick.prototxt"


def test_cli_import_writes_a_canonical_model_file(tmp_path):
    from graphnn.model.load import load_model
    from graphnn.model.writer import dumps
    from tests.helpers import cli

    output = tmp_path / "cifar.json"
    result = cli("import", CIFAR, "-o", output)
    assert result.returncode == 0, result.stderr
    assert "145,578 parameters" in result.stdout and str(output) in result.stdout
    text = output.read_text()
    assert dumps(load_model(output).document) == text
    again = cli("import", CIFAR, "-o", output)
    assert again.returncode == 2 and "give --force" in again.stderr
    assert cli("import", CIFAR, "-o", output, "--force", "--name", "quick").returncode == 0
    assert load_model(output).name == "quick"


def test_cli_check_takes_a_caffe_net():
    from tests.helpers import cli

    result = cli("check", CIFAR)
    assert result.returncode == 0 and "CIFAR10_quick: valid" in result.stdout and "145,578" in result.stdout


@pytest.mark.parametrize("arguments, words", [
    (["import", FIXTURES / "every_layer.prototxt", "-o", "x.gnn"], ["the output must end in .json"]),
    (["import", CIFAR, "--loss", "least_squares", "-o", "x.json"], ["--loss is for ONNX"]),
    (["import", CIFAR, "--dataset", "cifar", "-o", "x.json"], ["unknown dataset 'cifar'"]),
])
def test_cli_refusals(tmp_path, monkeypatch, arguments, words):
    from tests.helpers import assert_one_line_error, cli

    monkeypatch.chdir(tmp_path)
    assert_one_line_error(cli(*arguments), *words)
    assert cli(*arguments).returncode == 2


def test_cli_located_errors(tmp_path):
    from tests.helpers import assert_one_line_error, cli

    net = write(tmp_path, INPUT + 'layer {\n  name: "conv2"\n  type: "Convolution"\n  convolution_param {\n'
                                  '    kernal_size: 5\n  }\n}\n')
    for command in (["import", net, "-o", tmp_path / "out.json"], ["check", net]):
        line = assert_one_line_error(cli(*command))
        assert line == f"error: {net}:6:5: layer 'conv2' (Convolution): unknown field 'kernal_size' (did you mean " \
                       "'kernel_size'?)"
    assert not (tmp_path / "out.json").exists()


def test_lmdb_source_trains(tmp_path):
    """Without --dataset the Data layers' LMDB sources are kept, and graphnn run reads them."""
    from graphnn.model.load import load_model
    from graphnn.model.writer import dumps
    from graphnn.train.run import Run

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=64)
    images = (rng.integers(0, 60, size=(64, 1, 6, 6)) + 150 * labels[:, None, None, None]).astype(np.uint8)
    for name in ("train_lmdb", "test_lmdb"):
        write_lmdb(tmp_path / name, [datum(image, int(label)) for image, label in zip(images, labels)])
    data = ('layer {{ name: "d" type: "Data" top: "data" top: "label" include {{ phase: {phase} }} '
            'transform_param {{ scale: 0.00390625 }} data_param {{ source: "{source}" batch_size: 16 backend: LMDB }} }}\n')
    text = (data.format(phase="TRAIN", source="train_lmdb") + data.format(phase="TEST", source="test_lmdb")
            + f'layer {{ name: "fc" type: "InnerProduct" bottom: "data" top: "fc" {IP.format(n=2)} }}\n'
            'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }\n')
    solver = write(tmp_path, 'base_lr: 0.1 lr_policy: "fixed" max_iter: 20 momentum: 0.9 test_iter: 4 '
                             'test_initialization: false', "solver.prototxt")
    document = import_caffe(write(tmp_path, text), solver=solver)
    assert document["train"]["data"] == {"path": "train_lmdb"} and document["test"]["data"] == {"path": "test_lmdb"}
    (tmp_path / "model.json").write_text(dumps(document))
    summary = Run(load_model(tmp_path / "model.json"), None, tmp_path / "run").train()
    assert summary["test"]["samples"] == 64 and summary["test"]["accuracy"] >= 0.9


def test_phases_must_feed_alike(tmp_path):
    test_scale = STAGED.replace("transform_param { scale: 0.00390625 } data_param { source: \"held_out\"",
                                "transform_param { scale: 0.5 } data_param { source: \"held_out\"")
    assert "layer 'on_test' (Data): transforms its samples as {'scale': 0.5}" in refused(tmp_path, test_scale,
                                                                                         dataset="mnist")
    other_tops = STAGED.replace('name: "on_test" type: "Data" top: "data" top: "label"',
                                'name: "on_test" type: "Data" top: "data" top: "labels"')
    assert "writes tops ['data', 'labels']" in refused(tmp_path, other_tops, dataset="mnist")
    two = STAGED.replace('include { phase: TEST stage: "test-on-train" }', "include { phase: TRAIN }")
    assert "a second Data layer in one phase" in refused(tmp_path, two, dataset="mnist")
