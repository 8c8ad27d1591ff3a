"""Labelled check-worthiness data (CheckThat! TSV files, the ClaimBuster JSON list) and the
ranking metrics over it: MAP, P@5, P@10 (the CheckThat! speaker column is unused)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import FormatError
from ledger.extract.devset import Article
from ledger.extract.segment import segment

_COLUMNS = 4
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, kw_only=True)
class LabelledLine:
    """One sentence of an evaluation file with its gold label."""

    line: int
    text: str
    label: bool


@dataclass(frozen=True, kw_only=True)
class FileResult:
    """Metrics of one file's ranking."""

    name: str
    average_precision: float
    precision_at_5: float
    precision_at_10: float


@dataclass(frozen=True, kw_only=True)
class Report:
    """Means over files (each file weighs the same, as in the CheckThat! task)."""

    mean_average_precision: float
    precision_at_5: float
    precision_at_10: float
    files: tuple[FileResult, ...]


def read_tsv(path: Path) -> list[LabelledLine]:
    """Read one evaluation file; a malformed line is a ``FormatError`` naming file and line."""
    lines: list[LabelledLine] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        columns = raw.split("\t")
        if len(columns) != _COLUMNS or columns[3].strip() not in ("0", "1"):
            raise FormatError(f"{path}:{number}: expected 4 tab-separated columns, label 0/1")
        try:
            line = int(columns[0])
        except ValueError as error:
            raise FormatError(f"{path}:{number}: line number is not an integer") from error
        lines.append(LabelledLine(line=line, text=columns[2], label=columns[3].strip() == "1"))
    return lines


def read_dir(directory: Path) -> dict[str, list[LabelledLine]]:
    """Read every ``*.tsv`` file of a directory, keyed by file name, in name order."""
    paths = sorted(directory.glob("*.tsv"))
    if not paths:
        raise FormatError(f"{directory}: no .tsv files")
    return {path.name: read_tsv(path) for path in paths}


def read_claimbuster(path: Path) -> list[LabelledLine]:
    """Read the ClaimBuster JSON list of ``{"sentence_id", "label", "text"}`` objects.

    ``line`` is the ``sentence_id``; a malformed item is a ``FormatError`` naming its index.
    """
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FormatError(f"{path}: not a readable JSON document ({error})") from error
    if not isinstance(items, list):
        raise FormatError(f"{path}: expected a JSON list of sentences")
    lines: list[LabelledLine] = []
    for index, item in enumerate(items):
        try:
            label, text, line = item["label"], item["text"], item["sentence_id"]
        except (KeyError, TypeError) as error:
            raise FormatError(f"{path}: item {index} lacks sentence_id/label/text") from error
        if label not in (0, 1) or not isinstance(text, str) or not isinstance(line, int):
            raise FormatError(f"{path}: item {index}: label 0/1, text and integer sentence_id")
        lines.append(LabelledLine(line=line, text=text, label=label == 1))
    return lines


def overlap_key(text: str) -> str:
    """The form under which two datasets' copies of one sentence compare equal.

    Lower case, every run of non-alphanumeric characters one space: the datasets differ in
    quotes, dashes and spacing around punctuation.
    """
    return _NOT_ALNUM.sub(" ", text.lower()).strip()


def without_overlap(
    lines: Sequence[LabelledLine], others: Iterable[LabelledLine]
) -> list[LabelledLine]:
    """The lines whose text (by ``overlap_key``) occurs nowhere in ``others``."""
    seen = {overlap_key(other.text) for other in others}
    return [line for line in lines if overlap_key(line.text) not in seen]


def ranked_labels(lines: Sequence[LabelledLine], scores: Sequence[int]) -> list[bool]:
    """Labels in ranking order: higher score first, ties kept in line-number order."""
    order = sorted(range(len(lines)), key=lambda i: (-scores[i], lines[i].line))
    return [lines[i].label for i in order]


def average_precision(ranked: Sequence[bool]) -> float:
    """Mean of the precision at each relevant rank; 0.0 when nothing is relevant."""
    hits = 0
    total = 0.0
    for rank, relevant in enumerate(ranked, start=1):
        if relevant:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def precision_at(ranked: Sequence[bool], k: int) -> float:
    """Share of relevant items among the first ``k`` (a short list still divides by ``k``)."""
    return sum(ranked[:k]) / k


def evaluate(
    files: Mapping[str, Sequence[LabelledLine]], scores: Mapping[str, Sequence[int]]
) -> Report:
    """Score each file's ranking and average over files."""
    results = []
    for name, lines in files.items():
        ranked = ranked_labels(lines, scores[name])
        results.append(
            FileResult(
                name=name,
                average_precision=average_precision(ranked),
                precision_at_5=precision_at(ranked, 5),
                precision_at_10=precision_at(ranked, 10),
            )
        )
    count = len(results) or 1
    return Report(
        mean_average_precision=sum(r.average_precision for r in results) / count,
        precision_at_5=sum(r.precision_at_5 for r in results) / count,
        precision_at_10=sum(r.precision_at_10 for r in results) / count,
        files=tuple(results),
    )


def news_units(article: Article) -> list[tuple[str, bool]]:
    """(sentence, is gold) for every non-heading unit of a dev-set article; a unit is gold
    when its span overlaps a gold claim sentence's (the segmenter and the annotators may
    split a sentence differently)."""
    spans = [(claim.start, claim.end) for claim in article.claims]
    return [
        (unit.text, any(start < unit.end and unit.start < end for start, end in spans))
        for unit in segment(article.text)
        if not unit.heading
    ]
