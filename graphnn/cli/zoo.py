"""``graphnn zoo``: list the model files that ship with graphnn, with their parameter counts."""

import click


def zoo_rows():
    """(name, parameters, nodes, input shape, description) of each zoo model, checked as `graphnn check` does."""
    from graphnn.model import load_model, zoo

    rows = []
    for name in zoo.names():
        model = load_model(zoo.path(name))
        inputs = [step for step in model.plan.inputs if step.op.params.get("field", "x") == "x"]
        shape = "x".join(str(d) for d in inputs[0].out_shape) if inputs else "-"
        text = model.document.get("description") or model.document.get("doc") or ""
        rows.append((name, model.plan.parameter_count(), len(model.plan.steps), shape, text))
    return rows


@click.command("zoo")
@click.option("--paths", is_flag=True, help="Print each model's file instead of the table.")
def command(paths):
    """List the zoo: the model files that ship with graphnn (graphnn/zoo/; models/ in a clone).

    Any command that reads a model file takes a zoo name where no such file exists, e.g.
    `graphnn check resnet18`, `graphnn run mlp784`, `graphnn viz resnet50`; so does
    graphnn.load_model("resnet50").
    """
    from graphnn.model import zoo

    if paths:
        for name in zoo.names():
            click.echo(zoo.path(name))
        return
    rows = zoo_rows()
    width = max(len(name) for name, *_ in rows)
    counts = [f"{count:,}" for _, count, *_ in rows]
    digits = max(map(len, counts))
    shapes = max(len(shape) for *_, shape, _ in rows)
    click.echo(f"{'model':<{width}}  {'params':>{digits}}  {'nodes':>5}  {'input':<{shapes}}  description")
    for (name, _, nodes, shape, text), count in zip(rows, counts):
        first = text.split(". ")[0].rstrip(".")
        first = first if len(first) <= 70 else first[:67] + "..."
        click.echo(f"{name:<{width}}  {count:>{digits}}  {nodes:>5}  {shape:<{shapes}}  {first}")
    click.echo(f"{len(rows)} models in {zoo.FOLDER}")
