"""Scoring an extractor against the news dev set (``benchmarks/data``, its README).

Gold claims are located by their sentence; a predicted claim matches a gold claim of the
same article when their spans overlap by at least half of the shorter one (one to one, in
text order; of two gold claims on one sentence, the one whose claimant fits better). On
the matched pairs, claimant, date made, reporting kind and quantities are compared.
Everything here is plain Python so the figures can be recomputed by hand.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ledger.errors import FormatError
from ledger.extract.model import ExtractedClaim, Extractor
from ledger.sources import parse_seed

_BOUNDS = ("exact", "approximate", "at_least", "more_than", "at_most", "less_than")
_PRECISIONS = ("day", "month", "year")
_KINDS = ("person", "organization", "document")
_REPORTINGS = ("direct_quote", "reported_speech", "assertion")
_TOPICS = ("politics", "economy", "health", "conflict", "science", "other")
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_WORD = re.compile(r"[a-z0-9]+")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_POSSESSIVE = re.compile(r"'s\b")
_SMALL_WORDS = frozenset({"of", "and", "for", "the", "on", "in"})


@dataclass(frozen=True, kw_only=True)
class GoldQuantity:
    value: Decimal
    high: Decimal | None
    unit: str | None
    bound: str
    text: str


@dataclass(frozen=True, kw_only=True)
class GoldClaimant:
    name: str | None
    role: str | None
    affiliation: str | None
    kind: str | None

    @property
    def attributed(self) -> bool:
        return self.name is not None or self.role is not None


@dataclass(frozen=True, kw_only=True)
class GoldClaim:
    sentence: str
    start: int
    end: int
    claimant: GoldClaimant
    reporting: str
    made_on: datetime.date | None
    made_on_precision: str | None
    quantities: tuple[GoldQuantity, ...]
    subject: str | None


@dataclass(frozen=True, kw_only=True)
class Article:
    id: str
    text: str
    published: datetime.date
    outlet: str
    topic: str
    story: str | None
    claims: tuple[GoldClaim, ...]


def load_devset(directory: Path) -> list[Article]:
    """Every article of ``directory/news`` (``<id>.txt`` + ``<id>.json``), checked, by id."""
    news = directory / "news"
    articles = [_load_article(path) for path in sorted(news.glob("*.json"))]
    if not articles:
        raise FormatError(f"{news}: no gold files (*.json)")
    return articles


def _load_article(path: Path) -> Article:
    where = str(path)
    try:
        gold = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"{where}: not readable JSON: {exc}") from exc
    document = parse_seed(
        path.with_suffix(".txt").read_bytes(), where=str(path.with_suffix(".txt"))
    )
    if gold.get("id") != path.stem or not _ID.fullmatch(path.stem):
        raise FormatError(f"{where}: id must be the file stem in lowercase a-z0-9-")
    published = document.published
    if published is None or gold.get("published") != published.isoformat():
        raise FormatError(f"{where}: published must equal the .txt date line")
    _one_of(gold.get("topic"), _TOPICS, f"{where}: topic")
    text = document.text
    claims: list[GoldClaim] = []
    position = 0
    for index, raw in enumerate(gold.get("claims", [])):
        claim = _gold_claim(raw, text, position, f"{where}: claims[{index}]")
        position = claim.start
        claims.append(claim)
    return Article(
        id=path.stem,
        text=text,
        published=published,
        outlet=str(gold.get("outlet") or ""),
        topic=gold["topic"],
        story=gold.get("story"),
        claims=tuple(claims),
    )


def _gold_claim(raw: Mapping[str, Any], text: str, after: int, where: str) -> GoldClaim:
    sentence = raw.get("sentence")
    if not isinstance(sentence, str) or not sentence:
        raise FormatError(f"{where}.sentence: missing")
    start = text.find(sentence, after)
    if start < 0:
        start = text.find(sentence)
        if start < 0:
            raise FormatError(f"{where}.sentence: not in the normalized text: {sentence[:60]!r}")
        if start < after:
            raise FormatError(f"{where}.sentence: claims are not in text order")
    claimant = raw.get("claimant") or {}
    made_on = raw.get("made_on")
    precision = raw.get("made_on_precision")
    if (made_on is None) != (precision is None):
        raise FormatError(f"{where}: made_on and made_on_precision are null together")
    if precision is not None:
        _one_of(precision, _PRECISIONS, f"{where}.made_on_precision")
    _one_of(raw.get("reporting"), _REPORTINGS, f"{where}.reporting")
    if claimant.get("kind") is not None:
        _one_of(claimant["kind"], _KINDS, f"{where}.claimant.kind")
    try:
        day = datetime.date.fromisoformat(made_on) if made_on is not None else None
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}.made_on: not YYYY-MM-DD") from exc
    return GoldClaim(
        sentence=sentence,
        start=start,
        end=start + len(sentence),
        claimant=GoldClaimant(
            name=claimant.get("name"),
            role=claimant.get("role"),
            affiliation=claimant.get("affiliation"),
            kind=claimant.get("kind"),
        ),
        reporting=raw["reporting"],
        made_on=day,
        made_on_precision=precision,
        quantities=tuple(
            _gold_quantity(q, f"{where}.quantities[{i}]")
            for i, q in enumerate(raw.get("quantities") or [])
        ),
        subject=raw.get("subject"),
    )


def _gold_quantity(raw: Mapping[str, Any], where: str) -> GoldQuantity:
    _one_of(raw.get("bound"), _BOUNDS, f"{where}.bound")
    high = raw.get("high")
    return GoldQuantity(
        value=_decimal(raw.get("value"), f"{where}.value"),
        high=None if high is None else _decimal(high, f"{where}.high"),
        unit=raw.get("unit"),
        bound=raw["bound"],
        text=str(raw.get("text") or ""),
    )


def _decimal(value: object, where: str) -> Decimal:
    if not isinstance(value, str):
        raise FormatError(f"{where}: must be a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise FormatError(f"{where}: {value!r} is not a decimal") from exc


def _one_of(value: object, allowed: Sequence[str], where: str) -> None:
    if value not in allowed:
        raise FormatError(f"{where}: {value!r} is not one of {', '.join(allowed)}")


# --- comparing ------------------------------------------------------------------------


def name_key(name: str | None) -> str:
    """Case, accents, punctuation and a leading article ignored: "the Pentagon" = "Pentagon"."""
    if not name:
        return ""
    plain = unicodedata.normalize("NFKD", name.replace("’", "'")).encode("ascii", "ignore")
    words = _POSSESSIVE.sub("", plain.decode().lower())
    return " ".join(_WORD.findall(_LEADING_ARTICLE.sub("", words.strip())))


def _tokens(name: str | None) -> set[str]:
    return {word for word in name_key(name).split() if len(word) > 2}


def _head(role: str | None) -> str:
    words = name_key(role).split()
    return _singular(words[-1]) if words else ""


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def claimant_match(gold: GoldClaimant, predicted: ExtractedClaim) -> str:
    """``exact``, ``partial`` or ``wrong`` (both unattributed is ``exact``)."""
    name, role = predicted.claimant.name, predicted.claimant.role
    predicted_attributed = name is not None or role is not None
    if not gold.attributed:
        return "wrong" if predicted_attributed else "exact"
    if not predicted_attributed:
        return "wrong"
    if gold.name is not None:
        # A body named by its function ("Morocco's interior ministry") comes out as a role.
        said = name if name is not None or gold.kind == "person" else role
        if name_key(gold.name) == name_key(said) or _acronym_of(said, gold.name):
            return "exact"
        if _tokens(gold.name) & _tokens(said):
            return "partial"
        return "wrong"
    # An unnamed source ("a lawmaker", "state TV"): the role decides.
    if name_key(gold.role) == name_key(name if name is not None else role):
        return "exact"
    if _head(gold.role) and _head(gold.role) == _head(role):
        return "partial"
    return "wrong"


def _acronym_of(short: str | None, long: str | None) -> bool:
    """ "USGS" for "U.S. Geological Survey", "NASA" for "National Aeronautics and Space
    Administration": the initials of the long name's words, small words left out."""
    letters = name_key(short).replace(" ", "")
    words = [w for w in name_key(long).split() if w not in _SMALL_WORDS]
    if len(letters) < 2 or len(words) < 2 or " " in name_key(short):
        return False
    return letters == "".join(word[0] for word in words)


def unit_match(gold: str | None, predicted: str | None) -> bool:
    """Same unit, or the same head noun ("shipping containers" ~ "containers")."""
    if gold is None or predicted is None:
        return gold is None and predicted is None
    return name_key(gold) == name_key(predicted) or _head(gold) == _head(predicted)


@dataclass(kw_only=True)
class Counts:
    """True positives, predictions and gold items of one measure."""

    tp: int = 0
    predicted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_json(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "predicted": self.predicted,
            "gold": self.gold,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass(kw_only=True)
class Tally:
    """Correct out of total."""

    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def as_json(self) -> dict[str, float | int]:
        return {"correct": self.correct, "total": self.total, "accuracy": round(self.accuracy, 4)}


@dataclass(kw_only=True)
class Score:
    """Every figure of one run, and the errors behind them."""

    articles: int = 0
    detection: Counts = field(default_factory=Counts)
    sentences: Counts = field(default_factory=Counts)
    claimant_exact: Counts = field(default_factory=Counts)
    claimant_partial: Counts = field(default_factory=Counts)
    date_attributed: Tally = field(default_factory=Tally)
    date_all: Tally = field(default_factory=Tally)
    reporting: Tally = field(default_factory=Tally)
    quantities: Counts = field(default_factory=Counts)
    quantity_values: Counts = field(default_factory=Counts)
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "detection": self.detection.as_json(),
            "sentences": self.sentences.as_json(),
            "claimant_exact": self.claimant_exact.as_json(),
            "claimant_partial": self.claimant_partial.as_json(),
            "date_made_attributed": self.date_attributed.as_json(),
            "date_made_all": self.date_all.as_json(),
            "reporting": self.reporting.as_json(),
            "quantities": self.quantities.as_json(),
            "quantity_values": self.quantity_values.as_json(),
        }


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    shared = min(a_end, b_end) - max(a_start, b_start)
    return shared > 0 and 2 * shared >= min(a_end - a_start, b_end - b_start)


def match_claims(
    gold: Sequence[GoldClaim], predicted: Sequence[ExtractedClaim]
) -> list[tuple[GoldClaim, ExtractedClaim]]:
    """One-to-one pairs in text order; among candidates, exact claimant fits come first."""
    pairs: list[tuple[GoldClaim, ExtractedClaim]] = []
    used: set[int] = set()
    rank = {"exact": 0, "partial": 1, "wrong": 2}
    for claim in predicted:
        candidates = [
            (rank[claimant_match(g.claimant, claim)], i)
            for i, g in enumerate(gold)
            if i not in used and _overlap(g.start, g.end, claim.selector.start, claim.selector.end)
        ]
        if candidates:
            _, best = min(candidates)
            used.add(best)
            pairs.append((gold[best], claim))
    return pairs


def score_article(article: Article, predicted: Sequence[ExtractedClaim], score: Score) -> None:
    """Add one article's comparison to ``score``."""
    score.articles += 1
    pairs = match_claims(article.claims, predicted)
    score.detection.tp += len(pairs)
    score.detection.predicted += len(predicted)
    score.detection.gold += len(article.claims)
    gold_sentences = {(g.start, g.end) for g in article.claims}
    hit = {
        span
        for span in gold_sentences
        if any(_overlap(*span, c.selector.start, c.selector.end) for c in predicted)
    }
    score.sentences.tp += len(hit)
    score.sentences.gold += len(gold_sentences)
    score.sentences.predicted += len({(c.selector.start, c.selector.end) for c in predicted})
    matched = {id(c) for _, c in pairs}
    for claim in predicted:
        if id(claim) not in matched:
            _error(score, article, "false_positive", claim.selector.exact, claim.statement)
    matched_gold = {id(g) for g, _ in pairs}
    for g in article.claims:
        if id(g) not in matched_gold:
            _error(score, article, "missed", g.sentence, _describe_gold(g))
    for g, claim in pairs:
        _compare(article, g, claim, score)


def _compare(article: Article, gold: GoldClaim, claim: ExtractedClaim, score: Score) -> None:
    fit = claimant_match(gold.claimant, claim)
    predicted_attributed = claim.claimant.name is not None or claim.claimant.role is not None
    for counts, good in (
        (score.claimant_exact, fit == "exact"),
        (score.claimant_partial, fit != "wrong"),
    ):
        counts.predicted += predicted_attributed
        counts.gold += gold.claimant.attributed
        counts.tp += good and gold.claimant.attributed and predicted_attributed
    if fit != "exact" and (gold.claimant.attributed or predicted_attributed):
        _error(
            score,
            article,
            f"claimant_{fit}",
            gold.sentence,
            f"gold {_describe_claimant(gold.claimant)} / got {_describe_predicted(claim)}",
        )
    same_day = claim.made_on == gold.made_on and (
        claim.made_on is None or claim.made_on_precision == gold.made_on_precision
    )
    score.date_all.total += 1
    score.date_all.correct += same_day
    if gold.claimant.attributed:
        score.date_attributed.total += 1
        score.date_attributed.correct += same_day
        if not same_day:
            _error(
                score,
                article,
                "date_made",
                gold.sentence,
                f"gold {gold.made_on} ({gold.made_on_precision}) / got {claim.made_on} "
                f"({claim.made_on_precision})",
            )
    score.reporting.total += 1
    score.reporting.correct += claim.reporting == gold.reporting
    _compare_quantities(article, gold, claim, score)


def _compare_quantities(
    article: Article, gold: GoldClaim, claim: ExtractedClaim, score: Score
) -> None:
    for counts, full in ((score.quantities, True), (score.quantity_values, False)):
        remaining = list(gold.quantities)
        counts.gold += len(gold.quantities)
        counts.predicted += len(claim.quantities)
        for quantity in claim.quantities:
            for g in remaining:
                if _quantity_match(g, quantity, full=full):
                    remaining.remove(g)
                    counts.tp += 1
                    break
            else:
                if full:
                    _error(score, article, "quantity_extra_or_wrong", gold.sentence, quantity.text)
        if full:
            for g in remaining:
                _error(
                    score,
                    article,
                    "quantity_missed",
                    gold.sentence,
                    f"{g.text} = {g.value} {g.unit} ({g.bound})",
                )


def _quantity_match(gold: GoldQuantity, quantity: Any, *, full: bool) -> bool:
    try:
        value = Decimal(quantity.value)
        high = None if quantity.high is None else Decimal(quantity.high)
    except InvalidOperation:
        return False
    if value != gold.value:
        return False
    if not full:
        return True
    return (
        high == gold.high and quantity.bound == gold.bound and unit_match(gold.unit, quantity.unit)
    )


def _error(score: Score, article: Article, kind: str, sentence: str, detail: str) -> None:
    score.errors.append(
        {"kind": kind, "article": article.id, "sentence": sentence[:200], "detail": detail[:300]}
    )


def _describe_gold(gold: GoldClaim) -> str:
    return f"{_describe_claimant(gold.claimant)}, {gold.reporting}"


def _describe_claimant(claimant: GoldClaimant) -> str:
    if not claimant.attributed:
        return "(unattributed)"
    return f"{claimant.name or '-'} [{claimant.role or '-'}; {claimant.affiliation or '-'}]"


def _describe_predicted(claim: ExtractedClaim) -> str:
    c = claim.claimant
    if c.name is None and c.role is None:
        return "(unattributed)"
    return f"{c.name or '-'} [{c.role or '-'}; {c.affiliation or '-'}]"


def evaluate(articles: Iterable[Article], extractor: Extractor) -> Score:
    """Run ``extractor`` on every article and score it."""
    score = Score()
    for article in articles:
        claims = extractor.extract(article.text, published=article.published)
        score_article(article, claims, score)
    return score
