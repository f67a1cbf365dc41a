"""Kill a training process with SIGKILL at random moments, many times, and check after every kill that
its run folder holds a snapshot that loads and verifies (the long version of the CI crash test in
tests/train/test_resume.py, which runs 20).

    python tools/crash_trials.py                 # 200 kills
    python tools/crash_trials.py --trials 1000 --seed 7

Prints how many kills there were, how many landed in the middle of a snapshot write (they left a
half-written temporary file beside the snapshot), and the snapshot's iteration as the run crept on.
Exit status 1 when a kill ever left no valid snapshot.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from graphnn.errors import GraphnnError
from tests.train.test_resume import kill_trials  # after the path is set


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        try:
            stats = kill_trials(folder, args.trials, seed=args.seed)
        except (AssertionError, GraphnnError) as failure:
            print(f"FAILED: {failure}", file=sys.stderr)
            return 1
    print(f"{stats['trials']} kills in {time.monotonic() - started:.0f} s, {stats['mid_write']} in the middle of a "
          f"snapshot write; every kill left a valid snapshot (iterations {stats['iterations'][0]} .. "
          f"{stats['iterations'][-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
