#!/usr/bin/env python3
"""Draw a model file, bundle or run directory: the same as ``graphnn viz`` (see graphnn/cli/viz.py).

    python tools/viz.py models/mlp784.json -o mlp784.html
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from graphnn.cli import main

if __name__ == "__main__":
    main(["viz", *sys.argv[1:]], prog_name="graphnn")
