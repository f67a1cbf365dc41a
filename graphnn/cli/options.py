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


force_option = click.option("--force", is_flag=True, help="Replace the output if it exists.")


def refuse_existing(*paths, force=False):
    """Refuse (exit 2, one line) to write over the first of ``paths`` that exists, unless ``force``."""
    import os

    from graphnn.errors import InputError

    for path in paths:
        if not force and path is not None and os.path.lexists(path):
            raise InputError("the file exists; give --force to replace it", file=str(path))
