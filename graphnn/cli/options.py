"""Options shared by several commands."""

import click

model_argument = click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
