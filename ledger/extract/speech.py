"""Reported speech in one sentence: speaker, reporting verb, content span and frame."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from typing import Literal

from ledger.extract.cues import (
    AMBIGUOUS_FORMS,
    MONTHS,
    REPORTING_FORMS,
    REPORTING_VERBS,
    WEEKDAYS,
    wordset,
)
from ledger.extract.mentions import Mention, Token, tokenize
from ledger.extract.model import Reporting

Frame = Literal["that", "object", "postposed", "according", "quote"]


@dataclass(frozen=True, kw_only=True)
class Speech:
    """A statement attributed to ``speaker``; ``content`` and ``clause`` are text spans."""

    kind: Reporting
    frame: Frame
    speaker: Mention
    verb: str
    content_start: int
    content_end: int
    clause_start: int
    clause_end: int


# Words allowed between a subject and its verb: "Shin also said", "the minister on Monday said".
_SUBJECT_GAP_WORDS = wordset(
    """also has have had previously recently earlier later then further again repeatedly
    publicly reportedly separately on last this yesterday today"""
) | frozenset(WEEKDAYS)
# "-ing" words that are prepositions, so ", including ..." does not end the content.
_PREPOSITION_ING = wordset(
    "including according during following regarding concerning excluding involving"
)
# Words of the time, place and audience phrases found between a verb and "that".
_BEFORE_THAT = wordset(
    """on in at during last this earlier later late early yesterday today tonight reporters
    journalists lawmakers parliament a an the his her their its press news conference
    briefing statement interview televised speech meeting separate also week month"""
) | frozenset(WEEKDAYS + MONTHS)
# Who is told: "told reporters", "told the BBC" (names are skipped too).
_AUDIENCE = wordset("reporters journalists lawmakers parliament media crowd supporters")
_DAY_WORDS = wordset("yesterday today tonight")
_CONTINUATION_LINKS = frozenset({"while", "and"})
_THAT_WINDOW = 10
_TAIL_LIMIT = 40  # characters after "X said" that can still be only "on Monday."
_QUOTE_PAIRS = (("“", "”"), ('"', '"'))
_MIN_QUOTE_WORDS = 3
_QUOTE_GLUE = 3  # at most ", " or ": " between a quotation and its attribution
# Trimmed from the ends of content: spaces and the punctuation that joins clauses.
_TRAILING = " \t\n.,;:"
_CLOSING = _TRAILING + "!?\"”’'"
_SPACE = re.compile(r"\s*")


def past_tense(form: str) -> str:
    """The simple past of a reporting verb form ("affirming" -> "affirmed")."""
    base, _ = REPORTING_FORMS[form.lower()]
    return REPORTING_VERBS[base][0]


def find_speech(text: str, start: int, end: int, mentions: list[Mention]) -> list[Speech]:
    """The first reported statement of the sentence ``text[start:end]`` and its continuations."""
    reader = _Sentence(text, start, end, mentions)
    for index, token in enumerate(reader.tokens):
        found = reader.speech_at(index, token)
        if found:
            return found
    return []


class _Sentence:
    """One sentence's tokens, mentions and quotations, and the frame matchers over them."""

    def __init__(self, text: str, start: int, end: int, mentions: list[Mention]) -> None:
        self.text = text
        self.start = start
        self.end = end
        self.tokens = tokenize(text, start, end)
        self.mentions = sorted(
            (m for m in mentions if start <= m.start and m.end <= end), key=_start
        )
        self.quotes = _quotes(text, start, end)
        self.body_end = _strip_end(text, start, end)  # the sentence without its final stop

    def speech_at(self, index: int, token: Token) -> list[Speech]:
        """Speech whose reporting verb (or "according to") is token ``index``, if any."""
        if token.lower == "according":
            return self._according(index)
        form = REPORTING_FORMS.get(token.lower)
        # Capitalized forms are names ("United States"); gerunds only continue a clause.
        if form is None or form[1] or token.text[0].isupper():
            return []
        speaker, inverted = self._speaker(token)
        if speaker is None or (inverted and token.lower in AMBIGUOUS_FORMS):
            return []
        group_start = min(speaker.start, token.start)
        group_end = max(speaker.end, token.end)
        quoted = self._quoted(group_start, group_end, speaker, token)
        if quoted is not None:
            return self._with_continuations(quoted, group_end)
        if self._comma_before(group_start) is not None and self._at_end(group_end):
            return self._postposed(group_start, speaker, token)
        if inverted:
            return []
        return self._forward(index, speaker)

    def _speaker(self, verb: Token) -> tuple[Mention | None, bool]:
        """The mention right before the verb (gaps allowed), else right after it."""
        for limit in (verb.start, self._parenthetical_start(verb.start)):
            subject = self._mention_ending_by(limit)
            if subject is not None and self._subject_gap(self.text[subject.end : limit], subject):
                return subject, False
        index = bisect.bisect_left(self.mentions, verb.end, key=_start)
        if index < len(self.mentions):
            after = self.mentions[index]
            if _adjacent(self.text[verb.end : after.start]):
                return after, True
        return None, False

    def _mention_ending_by(self, position: int) -> Mention | None:
        """The last mention that ends at or before ``position``."""
        index = bisect.bisect_right(self.mentions, position, key=_end)
        return self.mentions[index - 1] if index else None

    def _parenthetical_start(self, position: int) -> int:
        """Where a ", ... ," just before ``position`` opens ("Reyes, who ..., told")."""
        closing = self._comma_before(position)
        if closing is None:
            return position
        opening = self.text.rfind(",", self.start, closing)
        return opening if opening != -1 else position

    @staticmethod
    def _subject_gap(gap: str, subject: Mention) -> bool:
        """A gap that keeps subject and verb together: adverbs or one ", parenthetical,"."""
        stripped = gap.strip()
        if len(stripped) > 1 and stripped[0] == "," and stripped[-1] == ",":
            return True
        if stripped == "," and subject.role is not None and subject.name is not None:
            # The comma closing an appositive: "Kirby, a spokesman for the NSC, said".
            return True
        return all(word.lower() in _SUBJECT_GAP_WORDS for word in stripped.split())

    def _quoted(
        self, group_start: int, group_end: int, speaker: Mention, verb: Token
    ) -> Speech | None:
        """'"C," X said' or 'X said: "C"': a quotation right next to the attribution."""
        index = bisect.bisect_left(self.quotes, (group_start, group_start))
        for q_start, q_end in self.quotes[max(0, index - 1) : index + 1]:
            if _touches(self.text, q_end, group_start, " ,") or _touches(
                self.text, group_end, q_start, " ,:"
            ):
                content_start, content_end = _strip_span(self.text, q_start + 1, q_end - 1)
                return self._speech(
                    "direct_quote", "quote", speaker, verb.text, content_start, content_end
                )
        return None

    def _postposed(self, group_start: int, speaker: Mention, verb: Token) -> list[Speech]:
        """Match "C, X said." or "C, said X.": the content is everything before the comma."""
        comma = self._comma_before(group_start)
        if comma is None:
            return []
        content_start, content_end = _strip_span(self.text, self.start, comma)
        if content_end <= content_start:
            return []
        return [
            self._speech(
                "reported_speech", "postposed", speaker, verb.text, content_start, content_end
            )
        ]

    def _according(self, index: int) -> list[Speech]:
        """Match "According to X, C." or "C, according to X."."""
        tokens = self.tokens
        if index + 1 >= len(tokens) or tokens[index + 1].lower != "to":
            return []
        to_end = tokens[index + 1].end
        index = bisect.bisect_left(self.mentions, to_end, key=_start)
        speaker = self.mentions[index] if index < len(self.mentions) else None
        if speaker is None or not _adjacent(self.text[to_end : speaker.start]):
            return []
        if tokens[index].start == self.start:
            comma = self.text.find(",", speaker.end, self.body_end)
            if comma == -1:
                return []
            content_start, content_end = _strip_span(self.text, comma + 1, self.body_end)
        else:
            content_start, content_end = _strip_span(self.text, self.start, tokens[index].start)
        if content_end <= content_start:
            return []
        return [
            self._speech(
                "reported_speech", "according", speaker, "according to", content_start, content_end
            )
        ]

    def _with_continuations(self, quoted: Speech, group_end: int) -> list[Speech]:
        """A quotation, then any ", adding that C" right after its attribution."""
        index = bisect.bisect_left(self.tokens, group_end, key=_token_start)
        gerund = self._continuation_at(index)
        if gerund is None:
            return [quoted]
        continued = self._forward(gerund, quoted.speaker, first=False)
        if not continued:
            return [quoted]
        return [replace(quoted, clause_end=group_end), *continued]

    def _continuation_at(self, comma: int) -> int | None:
        """Index of the reporting gerund in ", [while|and] adding ..." at token ``comma``."""
        tokens = self.tokens
        if comma >= len(tokens) or tokens[comma].text != ",":
            return None
        gerund = comma + 1
        if gerund < len(tokens) and tokens[gerund].lower in _CONTINUATION_LINKS:
            gerund += 1
        if gerund >= len(tokens):
            return None
        form = REPORTING_FORMS.get(tokens[gerund].lower)
        return gerund if form is not None and form[1] else None

    def _forward(self, index: int, speaker: Mention, *, first: bool = True) -> list[Speech]:
        """Match "X said (that) C" and its continuations (", while affirming C2")."""
        speeches: list[Speech] = []
        verb_index: int | None = index
        while verb_index is not None:
            found = self._clause(verb_index, speaker, first=first and not speeches)
            if found is None:
                break
            speech, verb_index = found
            speeches.append(speech)
        return speeches

    def _clause(
        self, verb_index: int, speaker: Mention, *, first: bool
    ) -> tuple[Speech, int | None] | None:
        """One reported clause and the index of the gerund continuing it, if any.

        The first clause is quoted from the sentence start, a continuation from its gerund;
        a clause that is continued ends where its content does.
        """
        verb = self.tokens[verb_index]
        content_start, frame = self._content_start(verb_index)
        content_end, following = self._clause_end(content_start)
        if content_end <= content_start:
            return None
        said = verb.text if first else past_tense(verb.text)
        speech = self._speech("reported_speech", frame, speaker, said, content_start, content_end)
        sentence_end = self.end if first else self.body_end
        clause_end = content_end if following is not None else sentence_end
        clause_start = self.start if first else verb.start
        return replace(speech, clause_start=clause_start, clause_end=clause_end), following

    def _content_start(self, verb_index: int) -> tuple[int, Frame]:
        """After "that" if it comes soon after the verb, else right after the verb."""
        window = self.tokens[verb_index + 1 : verb_index + 1 + _THAT_WINDOW]
        for token in window:
            if token.lower == "that":
                return _skip_space(self.text, token.end), "that"
            if not _adverbial(token):
                break
        return self._object_start(verb_index), "object"

    def _object_start(self, verb_index: int) -> int:
        """Start of a bare object: past an audience ("told reporters") and a day ("on Monday")."""
        tokens = self.tokens
        telling = REPORTING_FORMS[tokens[verb_index].lower][0] == "tell"
        k = verb_index + 1
        while k < len(tokens):
            skip = self._preamble_length(k, telling=telling)
            if skip == 0:
                break
            k += skip
        position = tokens[k].start if k < len(tokens) else tokens[verb_index].end
        return _skip_space(self.text, position)

    def _preamble_length(self, k: int, *, telling: bool) -> int:
        """How many tokens at ``k`` are an audience or a day rather than the content."""
        tokens = self.tokens
        word = tokens[k].lower
        following = tokens[k + 1] if k + 1 < len(tokens) else None
        if word in _DAY_WORDS or word == ",":
            return 1
        if word in ("on", "last") and following is not None and following.lower in WEEKDAYS:
            return 2
        if not telling:
            return 0
        if word in _AUDIENCE or _is_name(tokens[k]):
            return 1
        if word == "the" and following is not None and _is_name(following):
            return 1
        return 0

    def _clause_end(self, content_start: int) -> tuple[int, int | None]:
        """Where the content stops, and the index of a continuing reporting gerund, if any."""
        tokens = self.tokens
        first = bisect.bisect_left(tokens, content_start, key=_token_start)
        for i in range(first, len(tokens)):
            token = tokens[i]
            if token.text == ";":
                return _strip_end(self.text, content_start, token.start), None
            if token.text != ",":
                continue
            gerund = self._continuation_at(i)
            if gerund is not None:
                return _strip_end(self.text, content_start, token.start), gerund
            word = tokens[i + 1].lower if i + 1 < len(tokens) else ""
            if word.endswith("ing") and word not in _PREPOSITION_ING:
                # ", signaling a deepening alliance": the writer's gloss, not the claim.
                return _strip_end(self.text, content_start, token.start), None
        return _strip_end(self.text, content_start, self.body_end), None

    def _at_end(self, position: int) -> bool:
        """True when only punctuation (or a day such as "on Monday") follows ``position``."""
        if self.end - position > _TAIL_LIMIT:
            return False
        rest = self.text[position : self.end].strip(_CLOSING)
        return all(word.lower() in _SUBJECT_GAP_WORDS for word in rest.split())

    def _comma_before(self, position: int) -> int | None:
        """Offset of the comma just before ``position`` (only spaces between), if any."""
        index = position - 1
        while index >= self.start and self.text[index].isspace():
            index -= 1
        return index if index >= self.start and self.text[index] == "," else None

    def _speech(
        self,
        kind: Reporting,
        frame: Frame,
        speaker: Mention,
        verb: str,
        content_start: int,
        content_end: int,
    ) -> Speech:
        """A speech whose clause is, until narrowed, the whole sentence."""
        return Speech(
            kind=kind,
            frame=frame,
            speaker=speaker,
            verb=verb,
            content_start=content_start,
            content_end=content_end,
            clause_start=self.start,
            clause_end=self.end,
        )


def _start(mention: Mention) -> int:
    """Sort key: where a mention starts."""
    return mention.start


def _end(mention: Mention) -> int:
    """Sort key: where a mention ends (mentions do not overlap, so ends are sorted too)."""
    return mention.end


def _token_start(token: Token) -> int:
    """Sort key: where a token starts."""
    return token.start


def _is_name(token: Token) -> bool:
    """A capitalized word such as the name of a news outlet."""
    return token.text[0].isupper() and token.text[0].isalpha()


def _touches(text: str, left: int, right: int, glue: str) -> bool:
    """True when only a few ``glue`` characters lie between ``left`` and ``right``."""
    return 0 <= right - left <= _QUOTE_GLUE and not text[left:right].strip(glue)


def _adjacent(gap: str) -> bool:
    """Nothing but an article between two words ("according to the Pentagon")."""
    return gap.strip().lower() in ("", "the", "a", "an")


def _adverbial(token: Token) -> bool:
    """A word that may sit between a verb and its "that": "told reporters on Monday that"."""
    return token.text[0].isdigit() or token.text == "," or token.lower in _BEFORE_THAT


def _quotes(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans (marks included) of quotations with at least a few words."""
    spans: list[tuple[int, int]] = []
    for opening, closing in _QUOTE_PAIRS:
        position = start
        while True:
            q_start = text.find(opening, position, end)
            q_end = text.find(closing, q_start + 1, end) if q_start != -1 else -1
            if q_end == -1:
                break
            if len(text[q_start + 1 : q_end].split()) >= _MIN_QUOTE_WORDS:
                spans.append((q_start, q_end + 1))
            position = q_end + 1
    return sorted(spans)


def _skip_space(text: str, position: int) -> int:
    """The first non-space offset at or after ``position``."""
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _strip_end(text: str, start: int, end: int) -> int:
    """``end`` moved left past trailing spaces and punctuation, but not before ``start``."""
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    return end


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """A span with surrounding spaces and punctuation trimmed."""
    while start < end and text[start] in _TRAILING:
        start += 1
    return start, _strip_end(text, start, end)
