"""``graphnn`` with a stop signal sent to this rank of a data-parallel job at a chosen moment of its final
test (tests/reliability/test_distributed_stop.py starts it under mpiexec):

    mpiexec -n 2 python tests/reliability/signal_in_final_testing.py RANK SIGNAL MOMENT graphnn-args...

RANK: the rank that receives SIGNAL (TERM or INT) itself, MOMENT: "start" or "end" of its final test.
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from graphnn.cli import main
from graphnn.train.loop import Trainer

RANK, SIGNUM, MOMENT = int(sys.argv[1]), getattr(signal, "SIG" + sys.argv[2]), sys.argv[3]
real_test = Trainer.test


def test_then_signal(trainer):
    final = trainer.iteration == trainer.settings.iterations and trainer.strategy.world.rank == RANK
    if final and MOMENT == "start":
        os.kill(os.getpid(), SIGNUM)
    metrics = real_test(trainer)
    if final and MOMENT == "end":
        os.kill(os.getpid(), SIGNUM)
    return metrics


Trainer.test = test_then_signal
sys.exit(main(sys.argv[4:], prog_name="graphnn"))
