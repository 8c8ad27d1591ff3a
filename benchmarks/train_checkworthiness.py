"""Train the check-worthiness model shipped as ``ledger/extract/weights.json``.

Trains the first model on every CheckThat! 2019 training file and the whole ClaimBuster
ground truth, then the news stage on the news dev set (benchmarks/data/news), and writes
where the data came from (origin, sentence count, SHA-256) into the weights file.
Deterministic: the same data always gives byte-identical weights. The CheckThat! speaker
column is ignored, since news articles have none.

    .venv/bin/python benchmarks/train_checkworthiness.py [--checkthat DIR] [--claimbuster FILE] [--news DIR]
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import replace
from pathlib import Path

from ledger.extract.devset import load_devset
from ledger.extract.evaluation import news_units, read_claimbuster, read_dir
from ledger.extract.linear import TrainingData
from ledger.extract.training import (
    fit_news_stage,
    make_examples,
    news_examples,
    train,
    training_pairs,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "ledger" / "extract" / "weights.json"
CHECKTHAT_ORIGIN = (
    "CLEF CheckThat! 2019 task 1, training split (github.com/telsayed/clef2019-factchecking-"
    "task1, data/training; free for general research use)"
)
CLAIMBUSTER_ORIGIN = (
    "ClaimBuster ground truth (Arslan et al., ICWSM 2020, doi 10.5281/zenodo.3609356; "
    "utaresearch/claimbuster-spotter data/two_class/kfold_25ncs.json)"
)

NEWS_ORIGIN = (
    "claims-ledger news dev set (benchmarks/data/news: real articles, hand-made gold "
    "check-worthy sentences; see benchmarks/data/README.md)"
)
DEFAULT_NEWS = ROOT / "benchmarks" / "data"


def shared_eval() -> Path:
    """The ``shared/eval`` directory next to this checkout (or next to its worktree folder)."""
    candidates = [ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval"]
    return next((path for path in candidates if path.is_dir()), candidates[0])


DEFAULT_CHECKTHAT = shared_eval() / "checkthat2019" / "training"
DEFAULT_CLAIMBUSTER = shared_eval() / "claimbuster" / "groundtruth_kfold_25ncs.json"


def directory_sha256(directory: Path) -> str:
    """SHA-256 of ``sha256sum *.tsv`` run in the directory (so a shell can recompute it)."""
    listing = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        for path in sorted(directory.glob("*.tsv"))
    )
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def news_sha256(directory: Path) -> str:
    """SHA-256 of ``sha256sum *.json *.txt`` run in ``directory/news``."""
    news = directory / "news"
    paths = sorted([*news.glob("*.json"), *news.glob("*.txt")])
    listing = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n" for path in paths
    )
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Train on both datasets and write the weights file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkthat", type=Path, default=DEFAULT_CHECKTHAT, help="TSV dir")
    parser.add_argument("--claimbuster", type=Path, default=DEFAULT_CLAIMBUSTER, help="JSON")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights file to write")
    parser.add_argument("--news", type=Path, default=DEFAULT_NEWS, help="dev set (news/)")
    args = parser.parse_args(argv)
    files = read_dir(args.checkthat)
    claimbuster = read_claimbuster(args.claimbuster)
    pairs = training_pairs(files, claimbuster)
    units = [unit for article in load_devset(args.news) for unit in news_units(article)]
    sources = (
        TrainingData(
            name="CheckThat! 2019 task 1 training",
            origin=CHECKTHAT_ORIGIN,
            sentences=len(pairs) - len(claimbuster),
            sha256=directory_sha256(args.checkthat),
        ),
        TrainingData(
            name="ClaimBuster groundtruth kfold_25ncs",
            origin=CLAIMBUSTER_ORIGIN,
            sentences=len(claimbuster),
            sha256=hashlib.sha256(args.claimbuster.read_bytes()).hexdigest(),
        ),
        TrainingData(
            name="news dev set",
            origin=NEWS_ORIGIN,
            sentences=len(units),
            sha256=news_sha256(args.news),
        ),
    )
    model = train(make_examples(pairs))
    stage = fit_news_stage(news_examples(model, units))
    data = replace(model, trained_on=sources, news=stage).to_json()
    args.out.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    print(f"trained on {len(files)} CheckThat! files and ClaimBuster, {len(pairs)} sentences")
    print(f"news stage on {len(units)} dev-set sentences: {stage.to_json()}")
    print(f"wrote {args.out} ({len(data)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
