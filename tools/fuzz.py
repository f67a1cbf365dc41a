"""A long fuzz campaign over graphnn's loaders: the properties of tests/fuzzing.py, with fresh random
seeds, for a number of cases or a length of time.

    python tools/fuzz.py                         # 2000 model files, 1000 bundles, 500 snapshots
    python tools/fuzz.py --minutes 60            # as many as fit in an hour, in rounds
    python tools/fuzz.py --models 50000 --bundles 0 --save tests/fixtures/fuzz
    python tools/fuzz.py --scaling 2000          # also time every cost attack at n and 4n (issue 14)

Each failing input is shrunk by hypothesis, printed, and saved under ``--save`` (default
tests/fixtures/fuzz/) as ``found-<sha256 prefix>.json`` or ``.gnn``; the test suite then loads every
file there and requires a clean refusal, so a fixed bug stays fixed. Exit status 1 when anything failed.
"""

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests import fuzzing  # the strategies and properties

ROUND = 500  # cases per hypothesis run; a time-bounded campaign runs rounds until time is up


def save(data, suffix, folder):
    """Write a failing input as a regression fixture; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"found-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
    path.write_bytes(data)
    return path


def campaign(kind, count, folder, scratch, totals):
    """Run ``count`` cases of one property, counting each in ``totals``; returns the saved failures."""
    failures = []
    strategy, suffix = {"model": (fuzzing.mutated_texts(), ".json"),
                        "bundle": (fuzzing.mutated_bundles(), ".gnn"),
                        "snapshot": (fuzzing.mutated_snapshots(), ".snapshot.gnn")}[kind]

    @settings(max_examples=count, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(data=strategy)
    def run(data):
        totals[kind] += 1
        try:
            if kind == "model":
                fuzzing.check_model_bytes(data, scratch)
            elif kind == "bundle":
                fuzzing.check_bundle_bytes(data)
            else:
                fuzzing.check_snapshot_bytes(data)
        except BaseException:
            failures.append(data)
            raise

    try:
        run()
    except Exception as error:  # noqa: BLE001 — hypothesis re-raises the shrunk failure
        print(f"FAILED ({kind}): {type(error).__name__}: {error}", file=sys.stderr)
        return [save(failures[-1], suffix, folder)] if failures else []
    return []


def scaling(size):
    """Time every attack generator of the scaling tests at ``size`` and 4 ``size``; False if one grows
    faster than their ratio allows."""
    from tests.model import test_scaling as checking
    from tests.viz import test_scaling as drawing

    sound = True
    for attacks, load in ((checking.ATTACKS, checking.load_text), (drawing.GRAPHS, drawing.lay_out)):
        for attack in attacks:
            small, large = checking.growth(attack, load, size, runs=2)
            sound &= large / small < checking.RATIO
            print(f"{attack.__name__:28s} n={size}: {small:.2f} s, 4n: {large:.2f} s, ratio {large / small:.1f}")
    return sound


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000, help="model-file cases per round")
    parser.add_argument("--bundles", type=int, default=1000, help="bundle cases per round")
    parser.add_argument("--snapshots", type=int, default=500, help="snapshot cases per round (verify and resume)")
    parser.add_argument("--minutes", type=float, default=0, help="keep running rounds for this long")
    parser.add_argument("--save", type=Path, default=ROOT / "tests" / "fixtures" / "fuzz")
    parser.add_argument("--scaling", type=int, default=0, metavar="N",
                        help="also time each cost attack (tests/*/test_scaling.py) at N and 4N")
    args = parser.parse_args(argv)
    if args.scaling and not scaling(args.scaling):
        return 1
    started, totals, found = time.monotonic(), {"model": 0, "bundle": 0, "snapshot": 0}, []
    with tempfile.TemporaryDirectory() as scratch:
        while True:
            for kind, count in (("model", args.models), ("bundle", args.bundles), ("snapshot", args.snapshots)):
                for chunk in [ROUND] * (count // ROUND) + ([count % ROUND] if count % ROUND else []):
                    found += campaign(kind, chunk, args.save, scratch, totals)
            if time.monotonic() - started >= args.minutes * 60:
                break
    print(f"fuzzed {totals['model']} model files, {totals['bundle']} bundles and {totals['snapshot']} snapshots in "
          f"{time.monotonic() - started:.0f} s; {len(found)} failure(s)")
    for path in found:
        print(f"  saved {path}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
