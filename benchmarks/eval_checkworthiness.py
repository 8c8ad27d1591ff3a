"""Evaluate the ledger's check-worthiness scorer on CheckThat!, ClaimBuster and news.

Modes (one at a time):

- default: the packaged model on every CheckThat!-style TSV file of ``--data``: MAP (mean
  over files of the average precision of each file's ranking), P@5, P@10.
- ``--loo``: leave one file out: the model is retrained without the file before scoring it;
  with ``--claimbuster`` the ClaimBuster sentences are added to training, minus any that
  occur in the held-out file.
- ``--cross``: train on ClaimBuster without every sentence that occurs in CheckThat!, score
  the CheckThat! files (MAP per file); then train on CheckThat! and rank that same
  ClaimBuster remainder as one list (AP, P@100, P@1000; it has no debate boundaries).
- ``--news DIR``: the packaged model on the news dev set (``DIR/news/*.txt`` + ``.json``,
  see benchmarks/data/README.md): MAP over articles and claim-detection P/R/F1 per threshold.
- ``--news-cv DIR``: the news stage out of fold: for each story (an article without a story
  is its own), the news stage is refitted on the other stories' articles over the packaged
  first model (trained on debates only), and scores that story's sentences; MAP over
  articles and P/R/F1 per threshold over all out-of-fold scores (headings left out).

    .venv/bin/python benchmarks/eval_checkworthiness.py [--data DIR] [--scores-out FILE]
    .venv/bin/python benchmarks/eval_checkworthiness.py --loo [--claimbuster FILE]
    .venv/bin/python benchmarks/eval_checkworthiness.py --cross --claimbuster FILE
    .venv/bin/python benchmarks/eval_checkworthiness.py --news benchmarks/data
    .venv/bin/python benchmarks/eval_checkworthiness.py --news-cv benchmarks/data
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ledger.extract.checkworthy import THRESHOLD, packaged_model, score_sentence
from ledger.extract.devset import load_devset
from ledger.extract.evaluation import (
    LabelledLine,
    Report,
    average_precision,
    evaluate,
    news_units,
    precision_at,
    ranked_labels,
    read_claimbuster,
    read_dir,
    without_overlap,
)
from ledger.extract.linear import LinearModel, sigmoid
from ledger.extract.segment import segment
from ledger.extract.training import (
    fit_news_stage,
    make_examples,
    news_examples,
    train,
    training_pairs,
)

Files = Mapping[str, Sequence[LabelledLine]]
NEWS_THRESHOLDS = (200, 300, 400, 500, 600, 700, 800, 900)


def _train_script_defaults() -> tuple[Path, Path]:
    """The default data paths, defined once in the training script next to this one."""
    path = Path(__file__).resolve().with_name("train_checkworthiness.py")
    spec = importlib.util.spec_from_file_location("train_checkworthiness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DEFAULT_CHECKTHAT, module.DEFAULT_CLAIMBUSTER


def score_file(lines: Sequence[LabelledLine], model: LinearModel) -> list[int]:
    """Score each line of one file on its own, as the extractor scores a sentence."""
    return [score_sentence(line.text, model=model) for line in lines]


def leave_one_out_model(
    files: Files, held_out: str, extra: Sequence[LabelledLine] = ()
) -> LinearModel:
    """Train without ``held_out`` (and without ``extra`` lines that occur in it); the
    packaged news stage (fitted on news only, never on debates) sits on top, as shipped."""
    model = train(make_examples(training_pairs(files, extra, held_out=held_out)))
    return replace(model, news=packaged_model().news)


def score_all(
    files: Files, *, loo: bool, extra: Sequence[LabelledLine] = ()
) -> dict[str, list[int]]:
    """Scores of every file, with the packaged model or a model that never saw that file."""
    scores: dict[str, list[int]] = {}
    for name, lines in files.items():
        model = leave_one_out_model(files, name, extra) if loo else packaged_model()
        scores[name] = score_file(lines, model)
        if loo:
            print(f"  scored {name} with a model trained on the other files", file=sys.stderr)
    return scores


def write_scores(path: Path, files: Files, scores: Mapping[str, Sequence[int]]) -> None:
    """Write one row per sentence: file name, line number, score."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        for name, lines in files.items():
            for line, score in zip(lines, scores[name], strict=True):
                writer.writerow([name, line.line, score])


def print_report(report: Report, *, mode: str) -> None:
    """Print per-file and mean metrics."""
    for result in report.files:
        print(
            f"{result.name:40s} AP={result.average_precision:.4f} "
            f"P@5={result.precision_at_5:.2f} P@10={result.precision_at_10:.2f}"
        )
    print(f"{mode}: files={len(report.files)}")
    print(f"MAP={report.mean_average_precision:.4f}")
    print(f"P@5={report.precision_at_5:.4f}")
    print(f"P@10={report.precision_at_10:.4f}")


def cross_dataset(files: Files, claimbuster: Sequence[LabelledLine]) -> None:
    """Train on one dataset, test on the other, with their shared sentences removed."""
    everything = [line for lines in files.values() for line in lines]
    remainder = without_overlap(claimbuster, everything)
    print(f"ClaimBuster: {len(claimbuster)} sentences, {len(remainder)} not in CheckThat!")
    model = train(make_examples([(line.text, line.label) for line in remainder]))
    scores = {name: score_file(lines, model) for name, lines in files.items()}
    print_report(evaluate(files, scores), mode="trained on ClaimBuster, tested on CheckThat!")
    model = train(make_examples([(line.text, line.label) for line in everything]))
    ranked = ranked_labels(remainder, score_file(remainder, model))
    base = sum(ranked) / len(ranked)
    print("trained on CheckThat!, tested on ClaimBuster (one ranking):")
    print(f"AP={average_precision(ranked):.4f} (positives {base:.3f})")
    print(f"P@100={precision_at(ranked, 100):.4f}")
    print(f"P@1000={precision_at(ranked, 1000):.4f}")


@dataclass(frozen=True, kw_only=True)
class NewsSentence:
    """One segmented unit of a dev-set article, its score and whether it is a gold claim."""

    article: str
    score: int
    gold: bool


def read_news(directory: Path) -> dict[str, list[NewsSentence]]:
    """Score the units of every dev-set article (``ledger.extract.devset`` reads and checks
    the gold); a unit is gold when its span overlaps a gold claim sentence's span, since
    the segmenter and the annotators may split a sentence differently."""
    articles: dict[str, list[NewsSentence]] = {}
    for article in load_devset(directory):
        spans = [(claim.start, claim.end) for claim in article.claims]
        articles[article.id] = [
            NewsSentence(
                article=article.id,
                score=score_sentence(unit.text, heading=unit.heading),
                gold=any(start < unit.end and unit.start < end for start, end in spans),
            )
            for unit in segment(article.text)
        ]
    return articles


def news_report(articles: Mapping[str, Sequence[NewsSentence]]) -> None:
    """MAP over articles, then micro P/R/F1 of 'score >= threshold' per threshold."""
    aps = []
    for sentences in articles.values():
        ranked = sorted(range(len(sentences)), key=lambda i: (-sentences[i].score, i))
        aps.append(average_precision([sentences[i].gold for i in ranked]))
    units = [sentence for sentences in articles.values() for sentence in sentences]
    gold = sum(unit.gold for unit in units)
    print(f"news dev set: {len(articles)} articles, {len(units)} units, {gold} gold")
    print(f"MAP={sum(aps) / len(aps):.4f}")
    detection_report(units)


def news_cross_validation(directory: Path) -> None:
    """Leave one story out: refit the news stage without it, score its sentences; then MAP
    over articles and P/R/F1 per threshold, all from the out-of-fold scores."""
    first = replace(packaged_model(), news=None)
    articles = load_devset(directory)
    folds: dict[str, list[tuple[str, tuple[str, bool]]]] = {}
    for article in articles:
        folds.setdefault(article.story or article.id, []).extend(
            (article.id, unit) for unit in news_units(article)
        )
    examples = {
        fold: list(
            zip(
                [name for name, _ in units],
                news_examples(first, [unit for _, unit in units]),
                strict=True,
            )
        )
        for fold, units in folds.items()
    }
    scored: dict[str, list[NewsSentence]] = {}
    for fold, held_out in examples.items():
        rest = [e for name, pairs in examples.items() if name != fold for _, e in pairs]
        stage = fit_news_stage(rest)
        for article_id, e in held_out:
            scored.setdefault(article_id, []).append(
                NewsSentence(
                    article=article_id,
                    score=round(1000 * sigmoid(stage.logit(e.debate_logit, e.features))),
                    gold=e.label,
                )
            )
    print(f"leave one story out: {len(articles)} articles in {len(folds)} folds")
    news_report(scored)


def detection_report(units: Sequence[NewsSentence]) -> None:
    """Micro P/R/F1 of 'score >= threshold' per threshold."""
    gold = sum(unit.gold for unit in units)
    for threshold in sorted({*NEWS_THRESHOLDS, THRESHOLD}):
        chosen = [unit for unit in units if unit.score >= threshold]
        hits = sum(unit.gold for unit in chosen)
        precision = hits / len(chosen) if chosen else 0.0
        recall = hits / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        mark = " (THRESHOLD)" if threshold == THRESHOLD else ""
        print(f"threshold {threshold}: P={precision:.3f} R={recall:.3f} F1={f1:.3f}{mark}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, score, report."""
    checkthat, claimbuster_default = _train_script_defaults()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=checkthat, help="directory of TSV files")
    parser.add_argument("--claimbuster", type=Path, help=f"e.g. {claimbuster_default}")
    parser.add_argument("--scores-out", type=Path, help="write every sentence's score here")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--loo", action="store_true", help="leave one file out when training")
    modes.add_argument("--cross", action="store_true", help="ClaimBuster <-> CheckThat!")
    modes.add_argument("--news", type=Path, help="dev set directory (holding news/)")
    modes.add_argument("--news-cv", type=Path, help="dev set: news stage, leave one story out")
    args = parser.parse_args(argv)
    if args.news_cv:
        news_cross_validation(args.news_cv)
        return 0
    if args.news:
        news_report(read_news(args.news))
        return 0
    files = read_dir(args.data)
    extra = read_claimbuster(args.claimbuster) if args.claimbuster else []
    if args.cross:
        if not extra:
            parser.error("--cross needs --claimbuster")
        cross_dataset(files, extra)
        return 0
    scores = score_all(files, loo=args.loo, extra=extra)
    if args.scores_out:
        write_scores(args.scores_out, files, scores)
    if args.loo:
        mode = "leave-one-file-out" + (" (+ ClaimBuster minus the file)" if extra else "")
    else:
        mode = "packaged model (in-sample if trained on DIR)"
    print_report(evaluate(files, scores), mode=mode)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
