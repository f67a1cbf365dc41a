"""``graphnn export SOURCE -o model.onnx``: a trained bundle (or a model file) as an ONNX model."""

import click

from graphnn.cli.options import force_option, refuse_existing, zoo_source


@click.command("export")
@click.argument("source", metavar="SOURCE", type=click.Path(dir_okay=False), callback=zoo_source)
@click.option("-o", "--output", "--out", "output", type=click.Path(dir_okay=False),
              help="The ONNX file to write (default: SOURCE with the suffix .onnx).")
@click.option("--softmax", is_flag=True,
              help="Replace each softmax_cross_entropy loss by a Softmax output (probabilities) of the same "
                   "name.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="For a model .json: the seed of the fresh weights.")
@click.option("--opset", type=click.IntRange(min=17), default=17, show_default=True,
              help="ONNX opset to write.")
@force_option
def command(source, output, softmax, seed, opset, force):
    """Export SOURCE, a trained network (.gnn) or a model file (.json: fresh weights from --seed), to ONNX.

    Every op becomes standard ONNX operators; weights become initializers; node names and shapes are kept;
    the batch dimension is the symbolic N. Loss nodes are left out: the predictions they read are the
    outputs (with --softmax, the probabilities), and data nodes that only feed losses (labels) are dropped.
    An op without an ONNX form is an error naming the node.
    """
    from pathlib import Path

    from graphnn.errors import GraphnnError
    from graphnn.interop.onnx_common import require_onnx
    from graphnn.interop.onnx_export import export_file

    newest = require_onnx().defs.onnx_opset_version()
    if opset > newest:
        raise GraphnnError(f"opset {opset} is newer than the installed onnx package supports ({newest})")
    output = output or str(Path(source).with_suffix(".onnx"))
    refuse_existing(output, force=force)
    proto = export_file(source, output, softmax=softmax, seed=seed, opset=opset)

    def describe(values):
        shapes = {value.name: [d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim]
                  for value in values}
        return ", ".join(f"{name} [{', '.join(shape)}]" for name, shape in shapes.items())

    click.echo(f"{output}: {len(proto.graph.node)} ONNX nodes, opset {opset}; "
               f"inputs {describe(proto.graph.input)}; outputs {describe(proto.graph.output)}")
