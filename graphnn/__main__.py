"""``python -m graphnn``: the same command line as ``graphnn``."""

import os
import signal


def _interrupted_while_starting(signum, frame):
    """Ctrl-C or SIGTERM while graphnn.cli is still importing: one line and 128 + N (graphnn/cli/__init__.py then
    takes over)."""
    os.write(2, f"error: interrupted ({signal.Signals(signum).name}) while starting\n".encode())
    os._exit(128 + signum)


if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when the shell ignores Ctrl-C
    signal.signal(signal.SIGINT, _interrupted_while_starting)
if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _interrupted_while_starting)

from graphnn.cli import main

main(prog_name="graphnn")
