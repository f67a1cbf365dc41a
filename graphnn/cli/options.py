"""Options shared by several commands."""

import click


def zoo_source(ctx, param, value):
    """A model file, or where no such file exists, the zoo model of that name (graphnn/model/zoo.py),
    said in one line on stderr."""
    if value is None:
        return value
    from graphnn.model import zoo

    found, from_zoo = zoo.find(value)
    if from_zoo:
        click.echo(f"note: no file {value!r} here; using the zoo's {found.stem} ({found})", err=True)
    return str(found)


model_argument = click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False), callback=zoo_source)
