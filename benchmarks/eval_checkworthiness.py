"""Evaluate the ledger's check-worthiness scorer on CheckThat!-style TSV files.

Prints MAP (mean over files of the average precision of each file's ranking), P@5 and P@10.
With ``--loo`` the learned part is retrained without each file before that file is scored.

    .venv/bin/python benchmarks/eval_checkworthiness.py --data DIR [--scores-out FILE] [--loo]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ledger.extract.checkworthy import packaged_model, score_sentence
from ledger.extract.evaluation import LabelledLine, Report, evaluate, read_dir
from ledger.extract.linear import LinearModel
from ledger.extract.training import make_examples, train

Files = Mapping[str, Sequence[LabelledLine]]


def score_file(lines: Sequence[LabelledLine], model: LinearModel) -> list[int]:
    """Score each line of one file on its own, as the extractor scores a sentence."""
    return [score_sentence(line.text, model=model) for line in lines]


def leave_one_out_model(files: Files, held_out: str) -> LinearModel:
    """Train on every file except ``held_out``, with the shipped training code and config."""
    labelled = [
        (line.text, line.label)
        for name, lines in files.items()
        if name != held_out
        for line in lines
    ]
    return train(make_examples(labelled))


def score_all(files: Files, *, loo: bool) -> dict[str, list[int]]:
    """Scores of every file, with the packaged model or a model that never saw that file."""
    scores: dict[str, list[int]] = {}
    for name, lines in files.items():
        model = leave_one_out_model(files, name) if loo else packaged_model()
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


def print_report(report: Report, *, loo: bool) -> None:
    """Print per-file and mean metrics."""
    for result in report.files:
        print(
            f"{result.name:40s} AP={result.average_precision:.4f} "
            f"P@5={result.precision_at_5:.2f} P@10={result.precision_at_10:.2f}"
        )
    mode = "leave-one-file-out" if loo else "packaged model (in-sample if trained on DIR)"
    print(f"{mode}: files={len(report.files)}")
    print(f"MAP={report.mean_average_precision:.4f}")
    print(f"P@5={report.precision_at_5:.4f}")
    print(f"P@10={report.precision_at_10:.4f}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, score, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="directory of TSV files")
    parser.add_argument("--scores-out", type=Path, help="write every sentence's score here")
    parser.add_argument("--loo", action="store_true", help="leave one file out when training")
    args = parser.parse_args(argv)
    files = read_dir(args.data)
    scores = score_all(files, loo=args.loo)
    if args.scores_out:
        write_scores(args.scores_out, files, scores)
    print_report(evaluate(files, scores), loo=args.loo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
