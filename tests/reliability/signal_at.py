"""``graphnn`` with a stop signal that the process sends itself at the CALL-th call of TARGET (a module's
function or a class's method), as that phase begins (tests/reliability/test_ctrl_c_phases.py starts it):

    python tests/reliability/signal_at.py graphnn.train.loop.Trainer.test 2 INT run model.json --out run

When TARGET is called fewer than CALL times, the line "signal_at: not reached" ends stderr.
"""

import atexit
import importlib
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TARGET, CALL, SIGNUM = sys.argv[1], int(sys.argv[2]), getattr(signal, "SIG" + sys.argv[3])


def holder_of(target):
    """(the module or class holding ``target``'s last part, that part)."""
    module, _, name = target.rpartition(".")
    try:
        return importlib.import_module(module), name
    except ModuleNotFoundError:
        module, _, cls = module.rpartition(".")
        return getattr(importlib.import_module(module), cls), name


holder, name = holder_of(TARGET)
real, count = getattr(holder, name), [0]


def wrapper(*args, **options):
    count[0] += 1
    if count[0] == CALL:
        os.kill(os.getpid(), SIGNUM)
    return real(*args, **options)


setattr(holder, name, wrapper)
atexit.register(lambda: count[0] < CALL and sys.stderr.write("signal_at: not reached\n"))
from graphnn.cli import main

main(sys.argv[4:], prog_name="graphnn")
