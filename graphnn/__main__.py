"""``python -m graphnn``: the same command line as ``graphnn``."""

import _signal  # the C module, already loaded: ``import signal`` builds enums first, a window without a handler
import os

SIGNAL_NAMES = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM"}


def _interrupted_while_starting(signum, frame):
    """Ctrl-C or SIGTERM while graphnn.cli is still importing: one line and 128 + N (graphnn/cli/__init__.py then
    takes over)."""
    os.write(2, f"error: interrupted ({SIGNAL_NAMES[signum]}) while starting\n".encode())
    os._exit(128 + signum)


if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:  # not when the shell ignores Ctrl-C
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
if _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
    _signal.signal(_signal.SIGTERM, _interrupted_while_starting)

from graphnn.cli import main

main(prog_name="graphnn")
