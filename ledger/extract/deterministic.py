"""``DeterministicExtractor``: segmentation, scoring, speech and claimants tied into claims."""

from __future__ import annotations

import datetime
import hashlib
import unicodedata
from dataclasses import dataclass
from importlib import resources

from ledger import deadline
from ledger.errors import InvalidInput
from ledger.extract.checkworthy import THRESHOLD, score_sentence
from ledger.extract.claimants import UNATTRIBUTED, ClaimantIndex
from ledger.extract.dates import find_dates
from ledger.extract.mentions import find_mentions
from ledger.extract.model import Claimant, ExtractedClaim, Quantity, Selector
from ledger.extract.quantities import find_quantities
from ledger.extract.segment import Segment, segment
from ledger.extract.speech import Speech, find_speech
from ledger.extract.statement import assertion, reported

# The files whose bytes decide the output: rules, word lists and learned weights.
RULE_FILES = (
    "checkworthy.py",
    "claimants.py",
    "cues.py",
    "dates.py",
    "deterministic.py",
    "features.py",
    "linear.py",
    "mentions.py",
    "quantities.py",
    "roles.py",
    "segment.py",
    "speech.py",
    "statement.py",
    "weights.json",
)
SELECTOR_CONTEXT = 32


def rules_digest() -> str:
    """Hex SHA-256 over the rule files, each framed by its name and length."""
    digest = hashlib.sha256()
    package = resources.files("ledger.extract")
    for name in RULE_FILES:
        data = package.joinpath(name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def make_selector(text: str, start: int, end: int) -> Selector:
    """Quote and position selector for ``text[start:end]`` with up to 32 characters around."""
    return Selector(
        exact=text[start:end],
        prefix=text[max(0, start - SELECTOR_CONTEXT) : start],
        suffix=text[end : end + SELECTOR_CONTEXT],
        start=start,
        end=end,
    )


@dataclass(frozen=True, kw_only=True)
class _Sentence:
    """A sentence with its score and the speech found in it."""

    unit: Segment
    score: int
    speeches: tuple[Speech, ...]


class DeterministicExtractor:
    """The rule-based claim extractor (``Extractor`` protocol)."""

    name: str = "claims-ledger/rules"
    version: str = "1.0.0"

    def __init__(self) -> None:
        self.rules_sha256: str = rules_digest()

    def extract(self, text: str, *, published: datetime.date | None) -> list[ExtractedClaim]:
        """Claims of a normalized text (NFC, "\\n" line endings), in text order."""
        check_input(text, published)
        return _Run(text, published).claims()


class _Run:
    """One extraction: the article's sentences, claimants and the dates speakers spoke on."""

    def __init__(self, text: str, published: datetime.date | None) -> None:
        self.text = text
        self.published = published
        units = [unit for unit in segment(text) if not unit.heading]
        mentions = {}
        for unit in units:
            deadline.check()  # a caller's time limit (an API request) holds between sentences
            mentions[unit] = find_mentions(text, unit.start, unit.end)
        self.index = ClaimantIndex([m for unit in units for m in mentions[unit]])
        self.sentences = []
        for unit in units:
            deadline.check()
            speeches = tuple(find_speech(text, unit.start, unit.end, mentions[unit]))
            self.sentences.append(
                _Sentence(unit=unit, score=score_sentence(unit.text), speeches=speeches)
            )
        self.spoke_on: dict[Claimant, datetime.date] = {}

    def claims(self) -> list[ExtractedClaim]:
        """Every claim, sentence by sentence (dates of earlier speech carry forward)."""
        claims: list[ExtractedClaim] = []
        for sentence in self.sentences:
            deadline.check()
            found = self._sentence_claims(sentence)
            if sentence.score >= THRESHOLD:
                claims.extend(found)
        return claims

    def _sentence_claims(self, sentence: _Sentence) -> list[ExtractedClaim]:
        """The claims of one sentence: one per statement, or one assertion."""
        if not sentence.speeches:
            return [self._assertion(sentence)]
        frame_dates = self._frame_dates(sentence)
        return [self._reported(sentence, speech, frame_dates) for speech in sentence.speeches]

    def _assertion(self, sentence: _Sentence) -> ExtractedClaim:
        """The publication's own statement, made on the publication date."""
        unit = sentence.unit
        return ExtractedClaim(
            statement=assertion(unit.text),
            selector=make_selector(self.text, unit.start, unit.end),
            claimant=UNATTRIBUTED,
            reporting="assertion",
            made_on=self.published,
            made_on_precision=None if self.published is None else "day",
            quantities=self._quantities(unit.start, unit.end),
            score=sentence.score,
        )

    def _reported(
        self, sentence: _Sentence, speech: Speech, frame_dates: list[datetime.date]
    ) -> ExtractedClaim:
        """A statement attributed to its speaker."""
        claimant = self.index.claimant(speech.speaker)
        made_on = self._spoken_on(claimant, frame_dates)
        return ExtractedClaim(
            statement=reported(self.text, speech, self.index.label(speech.speaker, self.text)),
            selector=make_selector(self.text, speech.clause_start, speech.clause_end),
            claimant=claimant,
            reporting=speech.kind,
            made_on=made_on,
            made_on_precision=None if made_on is None else "day",
            quantities=self._quantities(speech.content_start, speech.content_end),
            score=sentence.score,
        )

    def _frame_dates(self, sentence: _Sentence) -> list[datetime.date]:
        """Days named outside the reported content ("announced on Monday that ...")."""
        unit = sentence.unit
        inside = [(s.content_start, s.content_end) for s in sentence.speeches]
        return [
            mention.day
            for mention in find_dates(self.text, self.published, unit.start, unit.end)
            if not any(start <= mention.start < end for start, end in inside)
        ]

    def _spoken_on(
        self, claimant: Claimant, frame_dates: list[datetime.date]
    ) -> datetime.date | None:
        """The frame's day, else the day this claimant last spoke on in the article."""
        if claimant.name is None:
            return frame_dates[0] if frame_dates else None
        if frame_dates:
            self.spoke_on[claimant] = frame_dates[0]
        return self.spoke_on.get(claimant)

    def _quantities(self, start: int, end: int) -> tuple[Quantity, ...]:
        """Quantities of a span, numbers that belong to dates left out."""
        dates = [(d.start, d.end) for d in find_dates(self.text, self.published, start, end)]
        return tuple(find_quantities(self.text, start, end, skip=dates))


def check_input(text: str, published: datetime.date | None) -> None:
    """Refuse text that is not normalized the way offsets assume."""
    if not isinstance(text, str):
        raise InvalidInput("text: must be a str")
    if "\r" in text:
        raise InvalidInput('text: line endings must be "\\n" (found "\\r")')
    if not unicodedata.is_normalized("NFC", text):
        raise InvalidInput("text: must be Unicode NFC-normalized")
    if published is not None and (
        isinstance(published, datetime.datetime) or not isinstance(published, datetime.date)
    ):
        raise InvalidInput("published: must be a datetime.date or None")
