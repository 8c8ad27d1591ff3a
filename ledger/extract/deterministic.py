"""``DeterministicExtractor``: segmentation, scoring, speech and claimants tied into claims."""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from importlib import resources

from ledger import deadline
from ledger.errors import InvalidInput
from ledger.extract.checkworthy import THRESHOLD, score_sentence
from ledger.extract.claimants import UNATTRIBUTED, ClaimantIndex
from ledger.extract.cues import REPORTING_FORMS
from ledger.extract.dates import DateMention, event_date, find_dates
from ledger.extract.mentions import Mention, bodies_by_usage, find_mentions
from ledger.extract.model import Claimant, ExtractedClaim, Precision, Quantity, Selector
from ledger.extract.places import data_version
from ledger.extract.quantities import find_quantities
from ledger.extract.quotes import quotation_body, quotation_sources, quoted_parts
from ledger.extract.segment import Segment, segment
from ledger.extract.speech import (
    BODY_VERBS,
    Speech,
    find_speech,
    present_tense,
    raised_report,
)
from ledger.extract.statement import assertion, reported

# The files whose bytes decide the output: rules, word lists and learned weights.
RULE_FILES = (
    "checkworthy.py",
    "claimants.py",
    "cues.py",
    "dates.py",
    "deterministic.py",
    "features.py",
    "lexicon.py",
    "linear.py",
    "mentions.py",
    "places.py",
    "quantities.py",
    "quantity_context.py",
    "quantity_words.py",
    "quotes.py",
    "roles.py",
    "segment.py",
    "speech.py",
    "statement.py",
    "weights.json",
)
SELECTOR_CONTEXT = 32


def rules_digest() -> str:
    """Hex SHA-256 over the rule files, each framed by its name and length, then the version
    of the ISO 3166 data the place names come from."""
    digest = hashlib.sha256()
    package = resources.files("ledger.extract")
    for name in RULE_FILES:
        data = package.joinpath(name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    digest.update(f"pycountry\0{data_version()}\0".encode())
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
    version: str = "2.4.0"

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
        quoted = quoted_parts(text, units)
        lowercase = set(_COMMON_WORD.findall(text))
        for unit in units:
            deadline.check()  # a caller's time limit (an API request) holds between sentences
            # Who a quotation names is not a speaker, nor what "he" refers to; a capitalised
            # first word the article also writes in lower case is no name ("Cumulative").
            mentions[unit] = [
                m
                for m in find_mentions(text, unit.start, unit.end)
                if not any(q_start <= m.start < q_end for q_start, q_end in quoted[unit])
                and not _common_word_opening(text, unit, m, lowercase)
            ]
        settled = iter(bodies_by_usage([m for unit in units for m in mentions[unit]]))
        mentions = {unit: [next(settled) for _ in mentions[unit]] for unit in units}
        self.index = ClaimantIndex([m for unit in units for m in mentions[unit]], text)
        self.sentences = []
        for unit in units:
            deadline.check()
            speeches = tuple(find_speech(text, unit.start, unit.end, mentions[unit]))
            self.sentences.append(
                _Sentence(unit=unit, score=score_sentence(unit.text), speeches=speeches)
            )
        self.spoke_on: dict[Claimant, _Day] = {}
        self.quoted_by = quotation_sources(
            text, [s.unit for s in self.sentences], [bool(s.speeches) for s in self.sentences]
        )

    def claims(self) -> list[ExtractedClaim]:
        """Every claim, sentence by sentence (dates of earlier speech carry forward)."""
        claims: list[ExtractedClaim] = []
        for position, sentence in enumerate(self.sentences):
            deadline.check()
            found = self._sentence_claims(position, sentence)
            if sentence.score >= THRESHOLD:
                claims.extend(found)
        return claims

    def _sentence_claims(self, position: int, sentence: _Sentence) -> list[ExtractedClaim]:
        """The claims of one sentence: one per statement, or one assertion.

        A continuation ("..., adding that C2") was said when the first statement was (a
        second speaker, "..., while Y said C2", is dated on its own); a
        sentence inside a quotation of several sentences is said by whoever the quotation
        is attributed to, when that sentence was.
        """
        if not sentence.speeches:
            source = self.quoted_by.get(position)
            if source is not None:
                return [self._quoted(sentence, self.sentences[source])]
            before = self.sentences[position - 1] if position else None
            unit = sentence.unit
            if before is not None and before.speeches:
                verb = raised_report(self.text, unit.start, unit.end)
                if verb is not None:
                    return [self._raised(sentence, before, verb)]
            return [self._assertion(sentence)]
        dates = find_dates(self.text, self.published, sentence.unit.start, sentence.unit.end)
        lead = sentence.speeches[0]
        first = _speech_date(self.text, lead, dates)
        return [
            self._reported(
                sentence,
                speech,
                _speech_date(self.text, speech, dates)
                or (first if speech.speaker == lead.speaker else None),
            )
            for speech in sentence.speeches
        ]

    def _quoted(self, sentence: _Sentence, source: _Sentence) -> ExtractedClaim:
        """A sentence of a longer quotation, attributed like the sentence that attributes it."""
        speech = source.speeches[0]
        unit = sentence.unit
        start, end = quotation_body(self.text, unit.start, unit.end)
        borrowed = replace(
            speech,
            kind="direct_quote",
            frame="quote",
            content_start=start,
            content_end=end,
            clause_start=unit.start,
            clause_end=unit.end,
            cites=(),
        )
        dates = find_dates(self.text, self.published, source.unit.start, source.unit.end)
        return self._reported(sentence, borrowed, _speech_date(self.text, speech, dates))

    def _raised(self, sentence: _Sentence, source: _Sentence, verb: int) -> ExtractedClaim:
        """ "Turnout was reported to be 61%." after "X said ...": a report with no speaker
        of its own goes on from the statement just before it, dated like it."""
        speech = source.speeches[-1]
        unit = sentence.unit
        start, end = _content_span(self.text, unit.start, unit.end)
        borrowed = replace(
            speech,
            kind="reported_speech",
            frame="according",  # "According to X, turnout was reported to be 61%."
            content_start=start,
            content_end=end,
            clause_start=unit.start,
            clause_end=unit.end,
            verb_start=verb,
            cites=(),
            links=(),
        )
        dates = find_dates(self.text, self.published, source.unit.start, source.unit.end)
        return self._reported(sentence, borrowed, _speech_date(self.text, speech, dates))

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
        self, sentence: _Sentence, speech: Speech, said_on: DateMention | None
    ) -> ExtractedClaim:
        """A statement attributed to its speaker, with the sources it cites."""
        claimant = self.index.claimant(speech.speaker)
        attributed = claimant.name is not None or claimant.role is not None
        # A chain hangs on someone: a speaker that resolves to nobody ("they", with no
        # group before it) leaves the claim unattributed, its relays included.
        if attributed and (speech.cites or speech.links):
            cites = tuple(self.index.cited(mention) for mention in speech.cites)
            links = tuple(
                replace(self.index.cited(mention), role=relation)
                for relation, mention in speech.links
            )
            claimant = replace(claimant, cites=cites + links)
        made_on, precision = self._spoken_on(claimant, said_on, present_tense(speech.verb))
        return ExtractedClaim(
            statement=reported(self.text, speech, self.index.label(speech.speaker, self.text)),
            selector=make_selector(self.text, speech.clause_start, speech.clause_end),
            claimant=claimant,
            reporting=speech.kind,
            made_on=made_on,
            made_on_precision=precision,
            quantities=self._said_quantities(speech),
            score=sentence.score,
        )

    def _spoken_on(self, claimant: Claimant, said_on: DateMention | None, present: bool) -> _Day:
        """When the statement was made (see docs/extraction.md, "Dates").

        The time the attribution gives ("said Tuesday", "told reporters in February"); else,
        in the past tense, the last time the article gave for the same claimant; else, news
        convention, the publication day ("X said" with no time is a statement of the day,
        "X says" one that stands when the article is published).
        """
        key = replace(claimant, cites=())
        if said_on is not None:
            day: _Day = (said_on.day, said_on.precision)
            if claimant != UNATTRIBUTED:
                self.spoke_on[key] = day
            return day
        if claimant != UNATTRIBUTED and key in self.spoke_on and not present:
            return self.spoke_on[key]
        return (self.published, None if self.published is None else "day")

    def _said_quantities(self, speech: Speech) -> tuple[Quantity, ...]:
        """The figures of what was said: its content's, or when the content leaves the
        clause's figures out ("However, according to IECC, 2,275 complaints have been
        filed"), the clause's outside the attribution."""
        found = self._quantities(speech.content_start, speech.content_end)
        lemma, _ = REPORTING_FORMS.get(speech.verb.lower(), ("", False))
        if found and lemma == "estimate":
            return _estimated(self.text, speech.content_start, found)
        if found:
            return found
        attribution = (speech.attribution_start, speech.attribution_end)
        return self._quantities(speech.clause_start, speech.clause_end, (attribution,))

    def _quantities(
        self, start: int, end: int, outside: tuple[tuple[int, int], ...] = ()
    ) -> tuple[Quantity, ...]:
        """Quantities of a span, numbers that belong to dates left out."""
        dates = [(d.start, d.end) for d in find_dates(self.text, self.published, start, end)]
        return tuple(find_quantities(self.text, start, end, skip=[*dates, *outside]))


_Day = tuple[datetime.date | None, Precision | None]
_CONTENT_OPENING = re.compile(r"\s*(?:that\s+)?", re.IGNORECASE)


def _estimated(text: str, content_start: int, found: tuple[Quantity, ...]) -> tuple[Quantity, ...]:
    """The figure an estimate verb reports, when the content opens with it ("Officials in
    Nepal estimated 4,279 were hurt", "estimates that 300,000 people were affected"), is an
    estimate as "an estimated 4,279" is; the content's other figures keep their bounds
    ("affected by Friday's magnitude 6.8 quake")."""
    first = found[0]
    opening = _CONTENT_OPENING.match(text, content_start)
    at = opening.end() if opening is not None else content_start
    if first.bound != "exact" or not text.startswith(first.text, at):
        return found
    return (replace(first, bound="approximate"), *found[1:])


_QUOTE_MARKS = ' \t\n"“”'
_COMMON_WORD = re.compile(r"(?<![\w-])[a-z][a-z]+(?![\w-])")


def _common_word_opening(text: str, unit: Segment, mention: Mention, lowercase: set[str]) -> bool:
    """A one-word name that opens the sentence and is a word the article writes in lower
    case elsewhere: "Cumulative confirmed deaths ..." is not said by "Cumulative"."""
    if mention.name is None or mention.role is not None or " " in mention.name:
        return False
    opening = text[unit.start : mention.start].strip(_QUOTE_MARKS) == ""
    return opening and mention.name.lower() in lowercase


_CLAUSE_OPENER = re.compile(r"(?i)\b(?:[a-z]{2,}ing|who|which|whose|where|when|while|as)\b")


def _past_comma(text: str, speech: Speech, mention: DateMention) -> bool:
    """Whether ``mention`` follows the verb in a clause of its own: past a semicolon, or
    past a comma that opens a participle or relative clause ("officials said, making it the
    worst year in 2019"; "said Ana Ruiz, who took office in 2019"). A comma that only closes
    an apposition keeps the date with the saying ("said Omar Haddad, a volunteer, on
    Tuesday")."""
    verb_end = speech.verb_start + len(speech.verb)
    if mention.start < verb_end:
        return False
    between = text[verb_end : mention.start]
    if re.search(r";(?:\s|$)", between):
        return True
    parts = re.split(r",(?:\s|$)", between)
    return any(_CLAUSE_OPENER.match(part.strip()) for part in parts[1:])


def _speech_date(text: str, speech: Speech, dates: list[DateMention]) -> DateMention | None:
    """The date expression of the attribution nearest its verb, outside the content.

    A body's act ("Cal Fire lowered the estimate on Monday") is its statement, so for
    those verbs a date in the clause counts too. A date that places an event ("since 1992",
    "by March") never dates the saying, and neither does one past a comma after the verb
    (", making it the largest outbreak in 2019").
    """
    act = speech.verb.lower() in BODY_VERBS
    candidates = [
        mention
        for mention in dates
        if not event_date(text, mention)
        and not _past_comma(text, speech, mention)
        and (
            (act and speech.clause_start <= mention.start < speech.clause_end)
            or (
                speech.attribution_start <= mention.start
                and mention.end <= max(speech.attribution_end, speech.attribution_start)
                and not (speech.content_start <= mention.start < speech.content_end)
            )
        )
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda mention: abs(mention.start - speech.verb_start))


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


def _content_span(text: str, start: int, end: int) -> tuple[int, int]:
    """A sentence without its surrounding spaces and final stop."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1] in " \t\n.":
        end -= 1
    return start, end
