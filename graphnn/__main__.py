"""``python -m graphnn``: the same command line as ``graphnn`` (graphnn/cli/__init__.py installs the start-up
Ctrl-C handler before anything else it imports)."""

from graphnn.cli import main

main(prog_name="graphnn")
