"""``graphnn check MODEL.json``: validate a model and print its summary table, or every error."""

import click

from graphnn.cli.options import zoo_source
from graphnn.model.summary import block_table, format_table, summary_table


def _zoo_sources(ctx, param, values):
    return tuple(zoo_source(ctx, param, value) for value in values)


def check_one(model_path, every_node, as_json):
    """Check one file: print its table (or return its JSON record); returns (valid, record)."""
    from graphnn.datasets.split import SECTIONS, missing_path
    from graphnn.errors import GraphnnError, ModelInvalid
    from graphnn.model import load_model

    def fail(errors):
        if not as_json:
            for error in errors:
                click.echo(f"error: {error}", err=True)
        return False, {"file": model_path, "valid": False, "errors": [str(error) for error in errors]}

    try:
        model = _caffe_model(model_path) if model_path.lower().endswith(".prototxt") else load_model(model_path)
    except ModelInvalid as invalid:
        return fail(invalid.errors)
    except GraphnnError as error:  # unreadable: one error for this file, the others are still checked
        return fail([error])
    missing = [error for error in (missing_path(model, section) for section in SECTIONS) if error is not None]
    if missing:
        return fail(missing)
    plan = model.plan
    record = {"file": model_path, "valid": True, "name": model.name, "errors": [],
              "parameters": plan.parameter_count(), "flops": sum(plan.flops(step) for step in plan.steps),
              "nodes": [{"name": step.name, "op": step.op.name, "inputs": list(step.inputs),
                         "output": list(step.out_shape), "parameters": plan.parameter_count(step),
                         "flops": plan.flops(step)} for step in plan.steps]}
    if not as_json:
        click.echo(f"{model.name}: valid ({model_path})")
        click.echo(format_table(summary_table(model, expand=every_node)))
        if model.expansion.has_blocks:
            click.echo("")
            click.echo(format_table(block_table(model), numeric=(1, 2, 3, 4), total=False))
    return True, record


def _caffe_model(path):
    """A Caffe net imported in memory (graphnn/interop/caffe_net.py), then checked as a model file is."""
    from graphnn.interop.caffe_net import import_caffe
    from graphnn.model.load import model_from_dict

    return model_from_dict(import_caffe(path), file=path)


@click.command("check")
@click.argument("model_paths", metavar="MODEL...", nargs=-1, required=True, type=click.Path(dir_okay=False),
                callback=_zoo_sources)
@click.option("--nodes", "every_node", is_flag=True,
              help="A model with blocks: list every node, not a row per block instance and chain.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: per file, its nodes or its errors.")
def command(model_paths, every_node, as_json):
    """Validate each MODEL (a .json model file, or a Caffe net .prototxt, imported in memory) and print its nodes, shapes, parameters and FLOPs.

    A model with blocks is summed up by block: a row per block instance and repeated chain ("bottleneck ×4"),
    then a row per block (instances, nodes, parameters); --nodes lists every node.

    Exit 0 when every file is valid; otherwise every error found, one per line, and exit 2. A data path that
    names no file or folder is one (relative paths are taken from the model file's folder, as `graphnn run`
    does).
    """
    import json

    results = []
    for index, model_path in enumerate(model_paths):
        if index and not as_json:
            click.echo("")
        results.append(check_one(model_path, every_node, as_json))
    if as_json:
        click.echo(json.dumps({"valid": all(valid for valid, _ in results),
                               "files": [record for _, record in results]}, indent=1))
    if not all(valid for valid, _ in results):
        raise SystemExit(2)
