#!/usr/bin/env python3
"""Write schemas/model.schema.json from the op registry (``--check`` only compares, exit 1 if stale)."""

import argparse
import json
import sys
from pathlib import Path

from graphnn.model.schema import model_schema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "model.schema.json"


def schema_text():
    return json.dumps(model_schema(), indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in schema is stale")
    args = parser.parse_args()
    text = schema_text()
    if args.check:
        current = SCHEMA_PATH.read_text() if SCHEMA_PATH.exists() else ""
        if current != text:
            sys.exit(f"{SCHEMA_PATH} is stale: run python tools/generate_schema.py")
        return
    SCHEMA_PATH.write_text(text)
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
