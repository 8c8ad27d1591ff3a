"""Score the claim extractor against the news dev set (benchmarks/data, see its README).

    .venv/bin/python benchmarks/eval_extraction.py                 # figures + worst errors
    .venv/bin/python benchmarks/eval_extraction.py --check         # validate the gold only
    .venv/bin/python benchmarks/eval_extraction.py --json out.json --errors 0

Figures: claim detection (claims, and gold sentences hit) precision/recall/F1; claimant
exact and partial F1 on matched claims (precision over matched claims the extractor
attributes, recall over matched claims the gold attributes); date made accuracy (value
and precision) on attributed claims and on all matched claims; reporting kind accuracy;
quantities P/R/F1 (value, range, bound and unit head all equal) and values only.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from ledger.extract.devset import Score, evaluate, load_devset
from ledger.extract.registry import default_name, load_extractor

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--extractor", default=None, help="installed extractor (default: rules)")
    parser.add_argument("--check", action="store_true", help="only load and validate the gold")
    parser.add_argument("--errors", type=int, default=8, help="worst errors shown per kind")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument("--topic", default=None, help="only articles of this topic")
    args = parser.parse_args(argv)
    articles = load_devset(args.data)
    if args.topic:
        articles = [a for a in articles if a.topic == args.topic]
    if args.check:
        claims = sum(len(a.claims) for a in articles)
        stories = collections.Counter(a.story for a in articles if a.story)
        print(f"ok: {len(articles)} articles, {claims} gold claims, stories {dict(stories)}")
        return 0
    extractor = load_extractor(args.extractor or default_name())
    score = evaluate(articles, extractor)
    print(f"extractor {extractor.name} {extractor.version} (rules {extractor.rules_sha256[:12]})")
    _print_figures(score)
    _print_errors(score, args.errors)
    if args.json:
        figures = score.as_json()
        figures["extractor"] = {"name": extractor.name, "version": extractor.version}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def _print_figures(score: Score) -> None:
    rows = [
        ("claims detected", score.detection),
        ("gold sentences hit", score.sentences),
        ("claimant exact", score.claimant_exact),
        ("claimant partial", score.claimant_partial),
        ("quantities (full)", score.quantities),
        ("quantities (value)", score.quantity_values),
    ]
    print(f"{score.articles} articles")
    print(f"{'measure':<22}{'P':>7}{'R':>7}{'F1':>7}{'tp':>6}{'pred':>6}{'gold':>6}")
    for label, c in rows:
        print(
            f"{label:<22}{c.precision:>7.3f}{c.recall:>7.3f}{c.f1:>7.3f}"
            f"{c.tp:>6}{c.predicted:>6}{c.gold:>6}"
        )
    for label, t in (
        ("date made (attributed)", score.date_attributed),
        ("date made (all)", score.date_all),
        ("reporting kind", score.reporting),
    ):
        print(f"{label:<22} accuracy {t.accuracy:.3f} ({t.correct}/{t.total})")


def _print_errors(score: Score, limit: int) -> None:
    if limit <= 0:
        return
    by_kind: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for error in score.errors:
        by_kind[error["kind"]].append(error)
    for kind, errors in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        print(f"\n## {kind}: {len(errors)}")
        for error in errors[:limit]:
            print(f"- [{error['article']}] {error['sentence'][:110]}")
            print(f"    {error['detail'][:160]}")


if __name__ == "__main__":
    sys.exit(main())
