"""``graphnn import model.onnx -o model.json``: an ONNX model as a graphnn model file and bundle;
``graphnn import net.prototxt [--solver solver.prototxt] -o model.json``: a Caffe net as a graphnn model file."""

import click

from graphnn.cli.options import force_option, refuse_existing
from graphnn.ops.loss import FUNCTIONS as LOSSES


@click.command("import")
@click.argument("source", metavar="MODEL.onnx|NET.prototxt", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "--out", "output", type=click.Path(dir_okay=False),
              help="model.gnn (a bundle: model and weights) or model.json (the model file, and model.gnn "
                   "beside it when there are weights). Default: MODEL with the suffix .gnn. A Caffe net: "
                   "model.json only (default NET.json).")
@click.option("--loss", type=click.Choice(list(LOSSES)),
              help="Add this loss on every output, with a data node 'label' (class indices), so the model "
                   "can be trained; a final Softmax becomes the softmax_cross_entropy loss.")
@click.option("--name", help="The model's name (default: the ONNX graph's or the Caffe net's name).")
@click.option("--solver", type=click.Path(dir_okay=False),
              help="Caffe: the solver prototxt that fills the train section (its test_states: the test sets).")
@click.option("--dataset", help="Caffe: read this named dataset (mnist, fashion-mnist) instead of every Data "
                                "layer's source: its train or test split as the source's name says, else by phase.")
@click.option("--stage", "stages", multiple=True,
              help="Caffe: the TEST net's stage (instead of the solver's test_states); may be repeated.")
@force_option
def command(source, output, loss, name, solver, dataset, stages, force):
    """Import MODEL.onnx or a Caffe NET.prototxt into graphnn, when graphnn's ops can express it.

    A Caffe net (a .prototxt: Caffe's protobuf text format) becomes a model file (.json; default NET with
    the suffix .json) that `graphnn run` trains as Caffe would: layers included by phase and stage, the TEST
    phase as the test section, Caffe's fillers, per-blob lr_mult/decay_mult, the solver's settings with
    --solver (docs/caffe.md lists what maps to what). A layer type or field graphnn cannot honour is one
    located line (exit 2).

    ONNX: opsets 6 to the newest the installed onnx knows (older than 18: converted by onnx.version_converter).
    Every node becomes graphnn nodes: one of the ONNX types a graphnn op imports (convolutions and pooling
    of any rank, Gemm/MatMul by constant weights, normalisations, activations, element-wise and layout
    ops, reductions, ...), or a constant when all its inputs are constants (ConstantOfShape, Shape, Gather,
    Concat, Cast, Reshape, arithmetic: folded). ONNX axis 0 is the batch when the graph allows it, else the
    model takes one whole tensor as a batch of one (see graphnn/interop/onnx_import.py). Anything else, and
    any malformed node, attribute or tensor, is a one-line error naming the ONNX node (exit 2). Weights go
    into the bundle (.gnn); the ONNX file is only parsed, never executed, and files with external data are
    refused.
    """
    from pathlib import Path

    from graphnn.interop.onnx_import import import_file
    from graphnn.io.regular import require_regular_file

    if Path(source).suffix.lower() == ".prototxt" or solver or dataset or stages:
        return _import_caffe(source, output, loss, name, solver, dataset, stages, force)
    output = output or str(Path(source).with_suffix(".gnn"))
    if Path(output).suffix in (".gnn", ".json"):  # else import_file says what an output must be
        require_regular_file(source)  # what is wrong with the source comes first
        beside = str(Path(output).with_suffix(".gnn")) if Path(output).suffix == ".json" else None
        refuse_existing(output, beside, force=force)
    bundle, written = import_file(source, output, loss=loss, name=name)
    nodes = len(bundle.model.plan.steps)
    click.echo(f"{source}: {nodes} graphnn nodes, {bundle.model.plan.parameter_count():,} parameters; "
               f"wrote {', '.join(map(str, written))}")


def _import_caffe(source, output, loss, name, solver, dataset, stages, force):
    from pathlib import Path

    from graphnn.errors import InputError
    from graphnn.interop.caffe_net import import_caffe
    from graphnn.io.atomic import write_atomic
    from graphnn.model.load import model_from_dict
    from graphnn.model.writer import dumps

    if loss:
        raise InputError("--loss is for ONNX models; a Caffe net keeps its own loss layers")
    output = output or str(Path(source).with_suffix(".json"))
    if Path(output).suffix != ".json":
        raise InputError("a Caffe net is imported as a model file: the output must end in .json", file=output)
    refuse_existing(output, force=force)
    document = import_caffe(source, solver=solver, dataset=dataset, stages=stages,
                            output_root=Path(output).parent)
    if name:
        document["name"] = name
    model = model_from_dict(document, file=output)  # the usual checks, before anything is written
    write_atomic(output, dumps(document).encode())
    click.echo(f"{source}: {len(model.plan.steps)} graphnn nodes, {model.plan.parameter_count():,} parameters; "
               f"wrote {output}")
