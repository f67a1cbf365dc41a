"""Stopping a run cleanly: Ctrl-C (SIGINT) and SIGTERM ask the training loop to stop at the end of the
current iteration, where it writes a snapshot and raises ``Interrupted``.

    with stop_signals() as stop:          # installs the handlers; restores the old ones on exit
        trainer.run(log, checkpoint=...)  # the checkpoint hook looks at stop.signal after each iteration

graphnn/train/run.py's Run does this for a whole run. A second signal while the first is being handled
stops at once, without a new snapshot (the last one written stays valid: snapshots are written
atomically). ``graphnn run`` exits with 128 + the signal's number, as a shell does: 130 for SIGINT, 143
for SIGTERM.
"""

import signal
import threading
from contextlib import contextmanager

from graphnn.errors import GraphnnError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(GraphnnError):
    """The run stopped on a signal; ``exit_code`` is 128 + the signal number, ``snapshot`` the file written
    (None when it stopped without one)."""

    def __init__(self, signum, iteration=None, snapshot=None):
        name = signal.Signals(signum).name
        if snapshot is not None:
            message = f"stopped by {name} at iteration {iteration}; snapshot written to {snapshot}"
        else:
            message = f"stopped by {name} without writing a new snapshot"
        super().__init__(message)
        self.signum, self.iteration, self.snapshot = signum, iteration, snapshot
        self.exit_code = 128 + signum


class StopRequest:
    """``signal`` is None until a stop signal arrives, then its number. ``urgent``, once training is over
    and its last snapshot written, is (iteration, snapshot path): a signal then stops at once (the final
    test and the run folder's files are redone by ``--resume``), instead of being noted and ignored."""

    def __init__(self):
        self.signal = None
        self.urgent = None


@contextmanager
def stop_signals():
    """Route SIGINT and SIGTERM to a StopRequest while the block runs (main thread only; elsewhere the
    request is never set and signals keep their usual effect)."""
    stop = StopRequest()

    def handler(signum, frame):
        if stop.urgent is not None:
            stop.signal = signum
            raise Interrupted(signum, *stop.urgent)
        if stop.signal is not None:
            raise Interrupted(signum)
        stop.signal = signum

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
