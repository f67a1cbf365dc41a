"""``graphnn import model.onnx -o model.json``: an ONNX model as a graphnn model file and bundle."""

import click

from graphnn.cli.options import force_option, refuse_existing
from graphnn.ops.loss import FUNCTIONS as LOSSES


@click.command("import")
@click.argument("source", metavar="MODEL.onnx", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "--out", "output", type=click.Path(dir_okay=False),
              help="model.gnn (a bundle: model and weights) or model.json (the model file, and model.gnn "
                   "beside it when there are weights). Default: MODEL with the suffix .gnn.")
@click.option("--loss", type=click.Choice(list(LOSSES)),
              help="Add this loss on every output, with a data node 'label' (class indices), so the model "
                   "can be trained; a final Softmax becomes the softmax_cross_entropy loss.")
@click.option("--name", help="The model's name (default: the ONNX graph's name).")
@force_option
def command(source, output, loss, name, force):
    """Import MODEL.onnx into graphnn, when graphnn's ops can express it.

    Opsets 6 to the newest the installed onnx knows (older than 18: converted by onnx.version_converter).
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

    output = output or str(Path(source).with_suffix(".gnn"))
    if Path(output).suffix in (".gnn", ".json"):  # else import_file says what an output must be
        require_regular_file(source)  # what is wrong with the source comes first
        beside = str(Path(output).with_suffix(".gnn")) if Path(output).suffix == ".json" else None
        refuse_existing(output, beside, force=force)
    bundle, written = import_file(source, output, loss=loss, name=name)
    nodes = len(bundle.model.plan.steps)
    click.echo(f"{source}: {nodes} graphnn nodes, {bundle.model.plan.parameter_count():,} parameters; "
               f"wrote {', '.join(map(str, written))}")
