"""Train the check-worthiness model shipped as ``ledger/extract/weights.json``.

Deterministic: the same data always gives byte-identical weights. The speaker column is
ignored, since news articles have none.

    .venv/bin/python benchmarks/train_checkworthiness.py [--data DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from ledger.extract.evaluation import read_dir
from ledger.extract.training import make_examples, train

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "checkthat2019" / "training"
DEFAULT_OUT = ROOT / "ledger" / "extract" / "weights.json"


def main(argv: list[str] | None = None) -> int:
    """Train on every TSV file of ``--data`` and write the weights file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory of TSV files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights file to write")
    args = parser.parse_args(argv)
    files = read_dir(args.data)
    labelled = [(line.text, line.label) for lines in files.values() for line in lines]
    data = train(make_examples(labelled)).to_json()
    args.out.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    print(f"trained on {len(files)} files, {len(labelled)} sentences")
    print(f"wrote {args.out} ({len(data)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
