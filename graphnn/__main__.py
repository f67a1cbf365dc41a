"""``python -m graphnn``: the same command line as ``graphnn``."""

from graphnn.cli import main

main(prog_name="graphnn")
