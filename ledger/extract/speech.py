"""Reported speech in one sentence: speaker, reporting verb, content span and frame."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from typing import Literal

from ledger.extract.cues import (
    AMBIGUOUS_FORMS,
    BELIEF_VERBS,
    MONTHS,
    REPORTING_FORMS,
    REPORTING_VERBS,
    WEEKDAYS,
    wordset,
)
from ledger.extract.lexicon import penn_tags
from ledger.extract.mentions import DATELINE as DATELINE  # statement.py imports it from here
from ledger.extract.mentions import Mention, Token, tokenize
from ledger.extract.model import Reporting
from ledger.extract.quotes import quotations

Frame = Literal["that", "object", "postposed", "according", "quote"]


@dataclass(frozen=True, kw_only=True)
class Speech:
    """A statement attributed to ``speaker``; ``content`` and ``clause`` are text spans.

    ``attribution_start``/``attribution_end`` span the words that report the speech act
    ("a lawmaker said Tuesday", "In a statement on Monday, the ministry said"): the time
    of the statement is looked for there, nearest ``verb_start``. ``cites`` are the
    sources the speaker cites, nearest first ("citing a military intelligence report").
    """

    kind: Reporting
    frame: Frame
    speaker: Mention
    verb: str
    content_start: int
    content_end: int
    clause_start: int
    clause_end: int
    verb_start: int = 0
    attribution_start: int = 0
    attribution_end: int = 0
    cites: tuple[Mention, ...] = ()
    links: tuple[tuple[str, Mention], ...] = ()
    """Who passed the statement on, with how: ("relayed by", Yonhap) for "…, according to
    Yonhap"; ("submitted to", Rep. Kang) for "a report submitted to Rep. Kang"."""


# Words of a date written before a document ("a Jan. 20 statement", "a March 2019 study").
_DATE_GAP_WORDS = frozenset(MONTHS + WEEKDAYS) | wordset(
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
# Words allowed between a subject and its verb: "Shin also said", "the minister on Monday said".
_SUBJECT_GAP_WORDS = wordset(
    """also has have had previously recently earlier later then further again repeatedly
    publicly reportedly separately on last this yesterday today now already initially first
    officially formally jointly immediately subsequently"""
) | frozenset(WEEKDAYS)
_DESCRIBING_TAGS = frozenset({"JJ", "NN", "VBN"})  # "economic", "labor", "published"
_DESCRIBING_WORDS = 3
_PHRASE_TAGS = frozenset({"NN", "NNS", "JJ", "VBG"})  # "neighboring countries"
_PHRASE_LINKS = wordset("and of the")
_WEEKDAY_WORDS = frozenset(WEEKDAYS) | wordset("yesterday today")
# "-ing" words that are prepositions, so ", including ..." does not end the content.
# Participles that carry a running total on ("..., bringing the death toll to 98"): part
# of the statement, unlike a writer's gloss (", signaling a deepening alliance").
_TOTAL_ING = wordset("raising bringing pushing lifting taking")
_PREPOSITION_ING = wordset(
    "including according during following regarding concerning excluding involving"
)
# Words of the time, place and audience phrases found between a verb and "that".
_BEFORE_THAT = wordset(
    """on in at during last this earlier later late early yesterday today tonight reporters
    journalists lawmakers parliament a an the his her their its press news conference
    briefing statement interview televised speech meeting separate also week month
    published released aired broadcast posted issued given with to by after before of
    written report filing letter post video message remarks comments hearing session
    summit visit trip rally event forum call phone telephone social media website morning
    afternoon evening night"""
) | frozenset(WEEKDAYS + MONTHS)
# Who is told: "told reporters", "told the BBC" (names are skipped too).
_AUDIENCE = wordset("reporters journalists lawmakers parliament media crowd supporters")
_DAY_WORDS = wordset("yesterday today tonight")
_PREPOSITIONS = wordset("in of from at near with for")
_VERB_WORDS = frozenset(REPORTING_FORMS) | wordset(
    "is are was were be been has have had will would could can may might must did do does"
)
_PHRASE_WORDS = 6  # "in the port city of"
_SHORT_TAIL = 6  # words after ", said X" that can only be adverbials ("on Friday")
_INTRO_MAX_WORDS = 8  # "In a statement on Tuesday," introduces; a longer opening is content
# Words opening an introductory phrase of any length: a subordinate clause ("After the
# storm killed 300 people in the north of the province, officials said the toll would
# rise"), not a phrase that may be the subject ("At least 124 people ..., officials said").
_LONG_INTRO_WORDS = wordset(
    "after before while when whenever although though because unless prior despite amid"
)
# Words opening a sentence's introductory phrase ("In a statement, X said C"): text before
# such a comma is not the content of a postposed "C, X said".
_INTRO_WORDS = wordset(
    """in on at as if when whenever while after before since although though because unless
    prior during meanwhile however separately earlier later last this also but and yet still for
    from with without despite amid amidst following asked speaking writing addressing
    responding by through under over upon once then now today yesterday elsewhere instead
    previously similarly likewise nevertheless furthermore moreover additionally thus so
    according"""
) | frozenset(WEEKDAYS + MONTHS)
# Verbs that only report when a document or data is the subject ("the survey found that").
_DOCUMENT_FORMS = frozenset({"found", "finds", "showed", "shows", "show", "reads", "determined"})
# Words opening a subordinate clause: "after Powell announced the cut, the bank ..." is
# background, not a statement the article reports.
_SUBORDINATORS = wordset(
    "after before when as since while because although though once until which whom"
)
# Gerunds that report what the subject of another verb said: "X urged calm, saying that C".
_DETERMINERS = frozenset({"the", "a", "an", "its", "his", "her", "their"})
_CLAUSE_OPENERS = frozenset({",", "but", "and", "with", "while", ";", "—", "–"})
_SAYING = frozenset(
    form
    for base in ("say", "add", "state", "note", "warn", "claim", "show", "indicate")
    for form in REPORTING_VERBS[base]
    if form.endswith("ing")
)
# What a body or a document does when it publishes figures: "the weather service issued a red
# alert", "the exit poll put the Conservatives on 131 seats" (never said of people).
BODY_VERBS = wordset("issued posted notified shared revised lowered put")
# Verbs reporting a judgement of their object: "termed the growth a recovery", "described
# the evictions as a crisis"; the second set needs "as".
_CHARACTERISING_AS = wordset(
    """described describes characterized characterizes characterised characterises
    portrayed portrays labelled labeled"""
)
_CHARACTERISING = _CHARACTERISING_AS | wordset(
    "termed terms called calls dubbed dubs branded brands"
)
_NOT_BEFORE_CHARACTERISING = wordset("is are was were be been being so what which who whom that")
_RELATIVES = wordset("what which that whom")
_PRONOUN_WORDS = wordset("it he she they we i you")
_NOT_OBJECTS = wordset("for on off up in out back into upon it this that him her them me us")
_OBJECT_WORDS = 8  # words between a characterising verb and its "as" or article
# Sources a relay names ("citing a report"), in the words after an attribution.
_CITING = frozenset({"citing", "quoting"})
# Participles that say whom a document went to, or who got hold of it.
_HANDED = wordset("submitted provided presented sent delivered leaked obtained seen reviewed")
_RELATIVE_WORDS = wordset("who which that whose where when while because although")
_PARTICIPLE_MENTIONS = 4  # mentions a participle phrase may list ("the BBC, ITV and Sky")
_CONTINUATION_LINKS = frozenset({"while", "and"})
_CONTRAST = frozenset({"while", "whereas", "but"})
_CONJUNCTION_OPENERS = frozenset({"and", "but"})
_THAT_WINDOW = 10
_QUOTE_GLUE = 3  # at most ", " or ": " between a quotation and its attribution
# Trimmed from the ends of content: spaces and the punctuation that joins clauses.
_TRAILING = " \t\n.,;:"
_CLOSING = _TRAILING + "!?\"”’'"
_SPACE = re.compile(r"\s*")


def present_tense(form: str) -> bool:
    """Whether a reporting verb form is in the present tense ("says", "say", "reports")."""
    lower = form.lower()
    found = REPORTING_FORMS.get(lower)
    if found is None or found[1] or lower == REPORTING_VERBS[found[0]][0]:
        return False  # not a reporting form, a gerund, or the simple past ("forecast")
    return lower.endswith("s") or lower == found[0]


def past_tense(form: str) -> str:
    """The simple past of a reporting verb form ("affirming" -> "affirmed")."""
    base, _ = REPORTING_FORMS[form.lower()]
    return REPORTING_VERBS[base][0]


_BE = wordset("is are was were be been being")
_IMPERSONAL_GAP = 5  # "it was announced on Monday that": words between the verb and "that"


def raised_report(text: str, start: int, end: int) -> int | None:
    """Where the sentence ``text[start:end]`` reports a statement with no speaker in a
    passive of a reporting verb raising its subject: "turnout was reported to be 61%",
    "the party is said to have won 12 seats", "the toll was estimated to exceed 300", or
    an impersonal one: "it was announced on Monday that C" (the offset of the verb); None
    with an agent ("was reported by X") or none at all.
    Whose report it is the sentence does not say: the article's current source."""
    tokens = tokenize(text, start, end)
    for index in range(1, len(tokens) - 2):
        verb = tokens[index]
        if tokens[index - 1].lower not in _BE or verb.text[0].isupper():
            continue
        base = REPORTING_FORMS.get(verb.lower, ("", True))
        participle = not base[1] and (verb.lower.endswith("ed") or verb.lower == "said")
        participle = participle and base[0] not in BELIEF_VERBS  # "is believed to"
        if participle and tokens[index + 1].lower == "to" and tokens[index + 2].text.isalpha():
            return verb.start
        following = [token.lower for token in tokens[index + 1 : index + 1 + _IMPERSONAL_GAP]]
        impersonal = index >= 2 and tokens[index - 2].lower == "it" and "that" in following
        if participle and impersonal:  # "It was announced on Monday that C"
            return verb.start
    return None


def find_speech(text: str, start: int, end: int, mentions: list[Mention]) -> list[Speech]:
    """The first reported statement of the sentence ``text[start:end]`` and its continuations.

    A reporting verb wins over "according to": in "According to Yonhap, Kang said C" the
    agency only relays what Kang said.
    """
    reader = _Sentence(text, start, end, mentions)
    according: list[Speech] = []
    for index, token in enumerate(reader.tokens):
        if token.lower == "according":
            according = according or reader.according(index)
            continue
        found = reader.speech_at(index, token)
        if found:
            found = reader.outer_postposed(index, found[0]) or found
            return reader.with_links(reader.with_second_speaker(found))
    return reader.with_links(according or reader.saying())


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
        self.quotes = quotations(text, start, end)
        self.body_end = _strip_end(text, start, end)  # the sentence without its final stop

    def outer_postposed(self, index: int, inner: Speech) -> list[Speech]:
        """ "The study's results showed C, the company said.": a document's finding
        reported by a speaker whose attribution closes the sentence is that speaker's."""
        if inner.speaker.kind != "document" or inner.frame == "quote":
            return []
        for k in range(index + 1, len(self.tokens)):
            later = self.speech_at(k, self.tokens[k])
            if (
                later
                and later[0].frame == "postposed"
                and later[0].content_start <= inner.clause_start
            ):
                return later
        return []

    def speech_at(self, index: int, token: Token) -> list[Speech]:
        """Speech whose reporting verb is token ``index``, if any."""
        form = REPORTING_FORMS.get(token.lower)
        if form is None and (token.lower in BODY_VERBS or self._characterises(index)):
            form = (token.lower, False)
        # Capitalized forms are names ("United States"); gerunds only continue a clause.
        if form is None or form[1] or token.text[0].isupper():
            return []
        speaker, inverted = self._speaker(token)
        # anyone may "put the death toll at 312"; other body verbs need a body or a document
        estimate = token.lower == "put" and self._puts_at_a_figure(index)
        body = speaker is not None and not speaker.pronoun
        body = body and speaker is not None and speaker.kind in ("organization", "document")
        if token.lower in BODY_VERBS and (inverted or speaker is None or not (body or estimate)):
            return []  # "Cal Fire lowered the acreage to", not "residents posted videos"
        if speaker is None or (
            inverted
            and token.lower in AMBIGUOUS_FORMS
            and not self._closing_inversion(token, speaker)
        ):
            return []
        group = speaker.kind == "person" and (speaker.role or "").endswith("s")
        plural = group or self.text[speaker.start : speaker.end].lower() == "they"
        if token.lower in _DOCUMENT_FORMS and speaker.kind != "document" and not plural:
            return []  # "the survey found", "researchers found", but not "police found 3 cars"
        group_start = self._with_article(min(speaker.start, token.start))
        group_end = max(speaker.end, token.end)
        if self._subordinate(group_start):
            return []
        cites = self._cited_in(speaker.end, token.start)
        quoted = self._quoted(group_start, group_end, speaker, token)
        if quoted is not None:
            tail_end, tail_cites = self._tail(group_end)
            quoted = replace(
                quoted,
                verb_start=token.start,
                attribution_start=group_start,
                attribution_end=tail_end,
                cites=cites + tail_cites,
            )
            return self._with_continuations(quoted, group_end)
        if self._is_postposed(group_start, index):
            return self._postposed(group_start, group_end, speaker, token, cites)
        if inverted or (form[0] == "add" and self._content_start(index)[1] != "that"):
            return []  # "Employers added 304,000 jobs": adding that C reports, adding jobs not
        found = [replace(s, cites=cites + s.cites) for s in self._forward(index, speaker)]
        opened = self._subordinate_opening(group_start)
        if found and opened is not None:
            # "Although inflation accelerated in May ..., Rusnok said C": May is when
            # inflation rose, not when Rusnok spoke.
            found[0] = replace(found[0], attribution_start=opened)
        return found

    def _subordinate_opening(self, group_start: int) -> int | None:
        """Where the attribution starts after a subordinate clause opening the sentence
        ("Although ..., X said C"), else None."""
        comma = self._comma_before(group_start)
        if comma is None:
            return None
        words = self.text[self.start : comma].strip(" \"“”'‘’(").split()
        if not words or words[0].lower() not in _LONG_INTRO_WORDS:
            return None
        return comma + 1

    def _closing_inversion(self, verb: Token, speaker: Mention) -> bool:
        """ "C, reports the Daily Star." / "C, notes X.": a form that is also a noun or a
        verb with an object ("reports", "notes") after a comma, its speaker ending the
        sentence, can only be an inverted attribution."""
        rest = self.text[speaker.end : self.body_end].strip(_CLOSING)
        return self._comma_before(verb.start) is not None and not rest

    def _characterises(self, index: int) -> bool:
        """Whether token ``index`` is a verb that reports a judgement of its object:
        "termed the growth a recovery", "called the deal a giveaway", "described the
        evictions as a crisis". The object must be followed, within a few words, by "as"
        (described, characterized) or an article (termed, called, dubbed, branded), with
        no other verb between: "called for talks", "a group called Hamas said" are not."""
        tokens = self.tokens
        word = tokens[index].lower
        if word not in _CHARACTERISING or tokens[index].text[0].isupper():
            return False
        before = [token.lower for token in tokens[max(0, index - 2) : index]]
        if before and before[-1] in _NOT_BEFORE_CHARACTERISING:
            return False  # "was called", "is described as", "a group called"
        if len(before) == 2 and before[0] in _RELATIVES and before[1] in _PRONOUN_WORDS:
            return False  # "what it called "significant" strikes": the writer's phrase
        wanted = ("as",) if word in _CHARACTERISING_AS else ("a", "an")
        following = tokens[index + 1 : index + 2 + _OBJECT_WORDS]
        if not following or following[0].lower in _NOT_OBJECTS or following[0].lower in wanted:
            return False
        for k, token in enumerate(following[1:], 1):
            if token.lower in wanted:
                return k + 1 < len(following) or index + 2 + k < len(tokens)
            if token.text in ",;:" or token.lower in _VERB_WORDS:
                return False
        return False

    def _puts_at_a_figure(self, index: int) -> bool:
        """ "put the death toll at 312", "put the number of injured at 1,200": an estimate,
        whoever makes it."""
        for token in self.tokens[index + 1 : index + 2 + _OBJECT_WORDS]:
            if token.lower == "at":
                return True
            if token.text in ",;:" or token.lower in _VERB_WORDS:
                return False
        return False

    def with_links(self, found: list[Speech]) -> list[Speech]:
        """Keep the reporting chain: who a document went to ("a report submitted to Rep.
        Kang") and who relayed the statement ("…, according to Yonhap", "as reported by
        the BBC") when that is not the speaker and stands outside the reported content."""
        if not found:
            return found
        relays: list[tuple[int, Mention]] = []
        for index, token in enumerate(self.tokens):
            relay = self._relay_at(index)
            if relay is None or any(relay is s.speaker for s in found):
                continue
            if any(s.content_start <= token.start < s.content_end for s in found):
                continue  # "Kang said that, according to Yonhap, …": part of what he said
            relays.append((token.start, relay))
        linked = []
        for speech in found:
            links = list(self._handed_to(speech.speaker))
            # each statement keeps the relays of its own clause ("X said C1, while Y said C2")
            links.extend(
                ("relayed by", relay)
                for position, relay in relays
                if speech.clause_start <= position < speech.clause_end
            )
            linked.append(replace(speech, links=tuple(links)) if links else speech)
        return linked

    def _relay_at(self, index: int) -> Mention | None:
        """The relay named at token ``index``: "according to X", "as reported by X"."""
        tokens = self.tokens
        if index + 1 >= len(tokens):
            return None
        pair = (tokens[index].lower, tokens[index + 1].lower)
        if pair == ("according", "to"):
            return self._mention_after(tokens[index + 1].end)
        if pair == ("reported", "by") and index and tokens[index - 1].lower == "as":
            return self._mention_after(tokens[index + 1].end)
        return None

    def _closing_relay_at(self, index: int) -> bool:
        """Whether the sentence ends with a relay from token ``index``: "X said C, according
        to Reuters." relays what X said; the relay is not part of C."""
        if index >= len(self.tokens):
            return False
        found = self._relay_at(index)
        if found is None and self.tokens[index].lower == "as":
            found = self._relay_at(index + 1)
        return found is not None and not self.text[found.end : self.body_end].strip()

    def _handed_to(self, speaker: Mention) -> list[tuple[str, Mention]]:
        """ "a report submitted to Rep. Kang", "a memo obtained by Reuters": the document's
        recipient, with the relation as the text gives it ("submitted to")."""
        if speaker.kind != "document":
            return []
        index = bisect.bisect_left(self.tokens, speaker.end, key=_token_start)
        if index + 1 >= len(self.tokens):
            return []
        verb, link = self.tokens[index], self.tokens[index + 1]
        if verb.lower not in _HANDED or link.lower not in ("to", "by"):
            return []
        recipient = self._mention_after(link.end)
        return [] if recipient is None else [(f"{verb.lower} {link.lower}", recipient)]

    def with_second_speaker(self, found: list[Speech]) -> list[Speech]:
        """Add "…, while Y said C2" after the statements found: another speaker, same sentence."""
        last = found[-1]
        if last.frame not in ("that", "object", "postposed"):
            return found
        after = max(last.content_end, last.attribution_end)
        index = bisect.bisect_left(self.tokens, after, key=_token_start)
        for k in range(index, len(self.tokens)):
            second = self.speech_at(k, self.tokens[k])
            if second and second[0].speaker.start >= after:
                opening = self._with_article(second[0].speaker.start)
                second = [
                    replace(s, clause_start=opening, attribution_start=opening) for s in second
                ]
                first = replace(last, clause_end=max(last.content_end, last.attribution_end))
                return [*found[:-1], first, *second]
        return found

    def saying(self) -> list[Speech]:
        """Match "X urged calm, saying (that) C" and "X released a statement saying C".

        The speaker is the last mention before the gerund that opens a clause.
        """
        dateline = DATELINE.match(self.text, self.start, self.end)
        clause_start = dateline.end() if dateline else self.start
        for index, token in enumerate(self.tokens):
            with_subject = self._with_gerund(index)
            if with_subject is not None:
                speeches = self._forward(index, with_subject, first=False)
                return [replace(s, attribution_start=with_subject.start) for s in speeches]
            if token.lower not in _SAYING:
                continue
            subject = None
            for mention in self.mentions:
                if mention.end > token.start:
                    break
                if mention.start >= clause_start and self._is_subject(mention):
                    subject = mention
            if subject is None:
                return []
            if token.lower != "saying" and self._content_start(index)[1] != "that":
                return []  # "adding 304,000 jobs" adds jobs; "adding that C" reports
            speeches = self._forward(index, subject, first=False)
            return [replace(s, attribution_start=subject.start) for s in speeches]
        return []

    def _with_gerund(self, index: int) -> Mention | None:
        """ "..., with the United States announcing it was sending aid": the subject of a
        reporting gerund that stands right before it after "with", when a clause follows
        ("that", or a pronoun subject: not "announcing new aid")."""
        tokens = self.tokens
        form = REPORTING_FORMS.get(tokens[index].lower)
        if form is None or not form[1] or index + 1 >= len(tokens):
            return None
        if tokens[index + 1].lower not in _PRONOUN_WORDS and tokens[index + 1].lower != "that":
            return None
        subject = self._mention_ending_by(tokens[index].start)
        if subject is None or self.text[subject.end : tokens[index].start].strip():
            return None
        before = bisect.bisect_left(tokens, self._with_article(subject.start), key=_token_start)
        return subject if before > 0 and tokens[before - 1].lower == "with" else None

    def _is_subject(self, mention: Mention) -> bool:
        """A mention that opens a clause and is followed by its verb, not by a list's comma."""
        index = bisect.bisect_left(self.tokens, mention.end, key=_token_start)
        following = self.tokens[index] if index < len(self.tokens) else None
        if following is None or not following.text[0].islower():
            return False
        return following.lower not in ("and", "or") and self._opens_clause(mention.start)

    def _opens_clause(self, position: int) -> bool:
        """Whether a mention at ``position`` starts a clause."""
        position = self._with_article(position)
        index = bisect.bisect_left(self.tokens, position, key=_token_start)
        if index == 0 or self.tokens[index - 1].start < self.start:
            return True
        dateline = DATELINE.match(self.text, self.start, self.end)
        if dateline and dateline.end() == position:
            return True
        return self.tokens[index - 1].lower in _CLAUSE_OPENERS

    def _subordinate(self, position: int) -> bool:
        """Whether the words at ``position`` open a subordinate clause ("after X said")."""
        index = bisect.bisect_left(self.tokens, position, key=_token_start)
        while index > 0:
            if self.tokens[index - 1].lower in _DETERMINERS:
                index -= 1  # "after its chair announced"
            elif index > 1 and self.tokens[index - 1].lower in ("'s", "’s"):
                index -= 2  # "as the state's governor warned"
            else:
                break
        if index < 1 or self.tokens[index - 1].lower not in _SUBORDINATORS:
            return False
        # ", while Y said" contrasts two statements; "while Y said" opening a sentence does not
        contrast = index > 1 and self.tokens[index - 2].text == ","
        return not (contrast and self.tokens[index - 1].lower in _CONTRAST)

    def _speaker(self, verb: Token) -> tuple[Mention | None, bool]:
        """The mention right before the verb (gaps allowed), else right after it.

        ", said X." and ", said X, a role" take the speaker after the verb first, so that
        "hospitalized in Lubbock, Texas, said Lauren Adams" is not said by Lubbock.
        """
        after = self._mention_after(verb.end)
        telling = REPORTING_FORMS.get(verb.lower, ("", False))[0] == "tell"  # "told Newsweek"
        if after is not None and not telling and self._comma_before(verb.start) is not None:
            rest = self.text[after.end : self.body_end]
            if not rest or rest[0] == "," or len(rest.split()) <= _SHORT_TAIL:
                return after, True  # ", said X, a role" / ", said X on Friday."
        for limit in (verb.start, self._parenthetical_start(verb.start)):
            subject = self._mention_ending_by(limit)
            if subject is not None and (
                self._subject_gap(self.text[subject.end : limit], subject)
                or self._phrase_goes_on(subject, limit)
            ):
                return self._head_of_phrase(self._before_acronym(subject)), False
        if after is not None:
            return after, True
        return None, False

    def _phrase_goes_on(self, subject: Mention, limit: int) -> bool:
        """ "officials in the Himalayan nation and neighboring countries said": the
        prepositional phrase a mention ends in goes on in lower-case nouns and adjectives
        up to the verb (as the lexicon tags them: no verb, no punctuation, a few words)."""
        words = self.text[subject.end : limit].split()
        inner = self.text[subject.start : subject.end].lower().split()
        if words and words[0] in _PREPOSITIONS:
            words = words[1:]  # "officials in the coastal province said"
        elif not set(inner[1:]) & _PREPOSITIONS:
            return False
        if not words or len(words) > _PHRASE_WORDS:
            return False
        tags = penn_tags()
        return all(
            word.isalpha()
            and word.islower()
            and (word in _PHRASE_LINKS or tags.get(word) in _PHRASE_TAGS)
            for word in words
        )

    def _before_acronym(self, mention: Mention) -> Mention:
        """The mention an acronym in parentheses follows: in "data from the Health
        Department (HD) showed" the data show, not HD."""
        index = bisect.bisect_left(self.mentions, mention.start, key=_start)
        if index == 0 or self.text[mention.start - 1 : mention.start] != "(":
            return mention
        earlier = self.mentions[index - 1]
        if self.text[earlier.end : mention.start] != " (" or mention.end >= self.end:
            return mention
        return earlier if self.text[mention.end] == ")" else mention

    def _head_of_phrase(self, mention: Mention) -> Mention:
        """The mention a prepositional phrase hangs on: in "a Libyan official in the port
        city of Derna has told", the subject is the official, not Derna."""
        index = bisect.bisect_left(self.mentions, mention.start, key=_start)
        if index == 0:
            return mention
        earlier = self.mentions[index - 1]
        first = bisect.bisect_left(self.tokens, earlier.end, key=_token_start)
        last = bisect.bisect_left(self.tokens, self._with_article(mention.start), key=_token_start)
        between = self.tokens[first:last]
        document = self._document_before(index)
        if document is not None:
            return document  # "a report submitted to parliament said": the report said
        if not between or len(between) > _PHRASE_WORDS or between[0].lower not in _PREPOSITIONS:
            return mention
        if all(
            t.text.isalpha() and t.text.islower() and t.lower not in _VERB_WORDS for t in between
        ):
            return earlier
        return mention

    def _document_before(self, index: int) -> Mention | None:
        """The document whose participle phrases end at mention ``index``: "an exit poll
        carried out by Ipsos, and paid for by the BBC, ITV and Sky says" is said by the
        poll; "a report submitted to parliament said" by the report. Walks back over at
        most a few mentions joined by "by", "for", "to", "and", commas and participles."""
        for back in range(index - 1, max(-1, index - 1 - _PARTICIPLE_MENTIONS), -1):
            earlier = self.mentions[back]
            after = self.mentions[back + 1]
            first = bisect.bisect_left(self.tokens, earlier.end, key=_token_start)
            last = bisect.bisect_left(
                self.tokens, self._with_article(after.start), key=_token_start
            )
            between = self.tokens[first:last]
            if not between or len(between) > _PHRASE_WORDS:
                return None
            if any(not _participle_link(t) for t in between):
                return None
            lead = between[0].lower
            if earlier.kind == "document" and (lead in _HANDED or lead.endswith("ed")):
                return earlier
        return None

    def _mention_ending_by(self, position: int) -> Mention | None:
        """The last mention that ends at or before ``position``."""
        index = bisect.bisect_right(self.mentions, position, key=_end)
        return self.mentions[index - 1] if index else None

    def _parenthetical_start(self, position: int) -> int:
        """Where a ", ... ," just before ``position`` opens ("Reyes, who ..., told"), adverbs
        after it allowed ("Acme, a unit of Zeta, also said")."""
        index = bisect.bisect_left(self.tokens, position, key=_token_start)
        while index > 0 and self.tokens[index - 1].lower in _SUBJECT_GAP_WORDS:
            index -= 1
        closing = self._comma_before(
            self.tokens[index].start if index < len(self.tokens) else position
        )
        if closing is None:
            return position
        opening = self.text.rfind(",", self.start, closing)
        return opening if opening != -1 else position

    @staticmethod
    def _subject_gap(gap: str, subject: Mention) -> bool:
        """A gap that keeps subject and verb together: adverbs or one ", parenthetical,"."""
        stripped = gap.strip().removeprefix(")").strip()  # "District (SPPHD) says"
        if (subject.name or "").endswith(("Jr", "Sr", "Inc", "Corp", "Ltd", "Co")):
            stripped = stripped.removeprefix(".").strip()  # "Robert F. Kennedy Jr. said"
        if len(stripped) > 1 and stripped[0] == "," and stripped[-1] == ",":
            return True
        if stripped[:1] == "," and subject.role is not None and subject.name is not None:
            # The comma closing an appositive: "Kirby, a spokesman for the NSC, (has) said".
            stripped = stripped[1:]
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

    def _is_postposed(self, group_start: int, verb_index: int) -> bool:
        """ "C, X said [adverbials]": a comma before the attribution closes a clause.

        Not when the words before the comma only introduce the sentence ("In a statement,
        X said C") or when "that" follows the verb ("C1, X said on Monday that C2").
        """
        comma = self._comma_before(group_start)
        if comma is None:
            return False
        previous = self.text.rfind(",", self.start, comma)
        opening = self.text[(previous + 1 if previous != -1 else self.start) : comma]
        words = opening.strip(" \"“”'‘’(").split()
        if not words:
            return False
        # A phrase opened by a preposition, a subordinator or a participle introduces the
        # sentence however long it is ("Giving an interview on CNN prior to meeting with the
        # media for a formal update, Green said the toll will jump"); other short ones may.
        opener = words[0].lower()
        start, frame = self._content_start(verb_index)
        if self._long_opening() and not self._no_object(verb_index, start):
            return False  # "After weeks of searching, which had been interrupted ..., X said C"
        long_intro = opener in _LONG_INTRO_WORDS or _participle(opener)
        intro = previous == -1 and (len(words) <= _INTRO_MAX_WORDS or long_intro)
        introduces = opener in _INTRO_WORDS or long_intro
        if intro and introduces and not self._no_object(verb_index, start):
            return False
        return frame != "that"

    def _long_opening(self) -> bool:
        """Whether the sentence opens with a subordinator or a participle: its opening
        phrase, commas and all, introduces what follows."""
        first = self.text[self.start : self.body_end].lstrip(" \"“”'‘’(").split(maxsplit=1)
        if not first:
            return False
        word = first[0].lower().rstrip(",")
        return word in _LONG_INTRO_WORDS or _participle(word)

    def _no_object(self, verb_index: int, start: int) -> bool:
        """Whether nothing after the verb can be what was said: the sentence ends there, or
        a comma then "and"/"but" opens a clause of its own ("At least 40 people died,
        officials said Monday, and dozens are missing"), so "At least" opened no intro."""
        if not self.text[start : self.body_end].strip(_CLOSING):
            return True
        comma = False
        for token in self.tokens[verb_index + 1 :]:
            if token.start >= self.body_end:
                return True
            if token.lower in _CONJUNCTION_OPENERS:
                return comma
            if comma and len(token.lower) > 5 and token.lower.endswith("ing"):
                return True  # "..., officials said, making it the largest cluster since"
            if not _adverbial(token):
                return False
            comma = comma or token.text == ","
        return True

    def _postposed(
        self,
        group_start: int,
        group_end: int,
        speaker: Mention,
        verb: Token,
        cites: tuple[Mention, ...],
    ) -> list[Speech]:
        """Match "C, X said [Tuesday][, citing Z]." or "C, said X.": the content is before."""
        comma = self._comma_before(group_start)
        if comma is None:
            return []
        content_start, content_end = _strip_span(self.text, self.start, comma)
        dateline = DATELINE.match(self.text, content_start, content_end)
        if dateline:
            content_start = dateline.end()
        if content_end <= content_start:
            return []
        tail_end, tail_cites = self._tail(group_end)
        speech = replace(
            self._speech(
                "reported_speech", "postposed", speaker, verb.text, content_start, content_end
            ),
            verb_start=verb.start,
            attribution_start=comma,
            attribution_end=tail_end,
            cites=cites + tail_cites,
        )
        index = bisect.bisect_left(self.tokens, group_end, key=_token_start)
        while index < len(self.tokens) and self.tokens[index].end <= tail_end:
            index += 1
        gerund = self._continuation_at(index)
        if gerund is None:
            return [speech]
        continued = self._forward(gerund, speaker, first=False)
        if not continued:
            return [speech]
        first = replace(speech, clause_end=self.tokens[index].start)
        return [first, *continued]

    def _tail(self, position: int) -> tuple[int, tuple[Mention, ...]]:
        """The attribution's adverbials after ``position`` and any ", citing Z".

        The tail ends at a continuation (", adding that"), a ";", or the sentence end;
        ``cites`` are the mentions right after "citing".
        """
        index = bisect.bisect_left(self.tokens, position, key=_token_start)
        cites: list[Mention] = []
        end = self.body_end
        for k in range(index, len(self.tokens)):
            token = self.tokens[k]
            if token.text == ";" or (
                token.text == ","
                and (self._continuation_at(k) is not None or self._another_speaker_at(k + 1))
            ):
                end = token.start
                break
            if token.lower in _CITING:
                cited = self._mention_after(token.end)
                if cited is not None:
                    cites.append(cited)
                end = min(end, token.start)
        return end, tuple(cites)

    def _cited_in(self, start: int, end: int) -> tuple[Mention, ...]:
        """Sources cited between a subject and its verb: "Kang, citing the agency, said"."""
        cites: list[Mention] = []
        for token in self.tokens[bisect.bisect_left(self.tokens, start, key=_token_start) :]:
            if token.start >= end:
                break
            if token.lower in _CITING:
                cited = self._mention_after(token.end)
                if cited is not None and cited.end <= end:
                    cites.append(cited)
        return tuple(cites)

    def _mention_after(self, position: int) -> Mention | None:
        """The mention that starts right after ``position`` (an article allowed between)."""
        index = bisect.bisect_left(self.mentions, position, key=_start)
        if index < len(self.mentions) and _adjacent(
            self.text[position : self.mentions[index].start]
        ):
            return self.mentions[index]
        return None

    def _described_document_after(self, position: int) -> Mention | None:
        """A document after words describing it: "according to economic surveys", "to
        recent figures" (lower-case adjectives and nouns, as the lexicon tags them)."""
        index = bisect.bisect_left(self.mentions, position, key=_start)
        if index >= len(self.mentions) or self.mentions[index].kind != "document":
            return None
        words = self.text[position : self.mentions[index].start].split()
        tags = penn_tags()
        if not 0 < len(words) <= _DESCRIBING_WORDS or any(
            not word.isalpha() or not word.islower() or tags.get(word) not in _DESCRIBING_TAGS
            for word in words
        ):
            return None
        document = self.mentions[index]
        start = _skip_space(self.text, position)
        described = f"{' '.join(words)} {document.role or ''}".strip()
        return replace(document, start=start, role=described)  # "economic surveys"

    def _dated_document_after(self, position: int) -> Mention | None:
        """A document after a date: "according to a Jan. 20 statement by NASA", "to a
        2019 study"."""
        index = bisect.bisect_left(self.mentions, position, key=_start)
        if index >= len(self.mentions) or self.mentions[index].kind != "document":
            return None
        gap = self.text[position : self.mentions[index].start].split()
        if len(gap) < 2 or gap[0].lower() not in ("the", "a", "an"):
            return None
        if all(_date_word(word) for word in gap[1:]):
            return self.mentions[index]
        return None

    def according(self, index: int) -> list[Speech]:
        """Match "According to X, C." or "C, according to X [, ...]."."""
        tokens = self.tokens
        if index + 1 >= len(tokens) or tokens[index + 1].lower != "to":
            return []
        to_end = tokens[index + 1].end
        speaker = (
            self._mention_after(to_end)
            or self._dated_document_after(to_end)
            or self._described_document_after(to_end)
        )
        if speaker is None:
            return []
        comma = self.text.find(",", speaker.end, self.body_end)
        if tokens[index].start == self.start:
            if comma == -1:
                return []
            content_start, content_end = _strip_span(self.text, comma + 1, self.body_end)
            attribution_end = comma
        else:
            content_start, content_end = _strip_span(self.text, self.start, tokens[index].start)
            attribution_end = self.body_end if comma == -1 else comma
        if content_end <= content_start:
            return []
        speech = self._speech(
            "reported_speech", "according", speaker, "according to", content_start, content_end
        )
        return [
            replace(
                speech,
                verb_start=tokens[index].start,
                attribution_start=tokens[index].start,
                attribution_end=attribution_end,
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
        cites: tuple[Mention, ...] = ()
        chained = self._chained(content_start) if first else None
        if chained is not None:  # "X says a report by Y found that C": X cites the report
            cited, content_start, frame = chained
            cites = (cited,)
        content_end, following = self._clause_end(content_start)
        if content_end <= content_start:
            return None
        said = verb.text if first else past_tense(verb.text)
        speech = self._speech("reported_speech", frame, speaker, said, content_start, content_end)
        sentence_end = self.end if first else self.body_end
        clause_end = content_end if following is not None else sentence_end
        clause_start = self.start if first else verb.start
        speech = replace(
            speech,
            clause_start=clause_start,
            clause_end=clause_end,
            verb_start=verb.start,
            attribution_start=self.start if first else verb.start,
            attribution_end=content_start,
            cites=cites,
        )
        return speech, following

    def _chained(self, content_start: int) -> tuple[Mention, int, Frame] | None:
        """A document reporting inside the content: "a report by Y found (that) C"."""
        index = bisect.bisect_left(self.mentions, content_start, key=_start)
        if index >= len(self.mentions) or self.mentions[index].start != content_start:
            return None
        cited = self.mentions[index]
        if cited.kind != "document":
            return None
        k = bisect.bisect_left(self.tokens, cited.end, key=_token_start)
        while k < len(self.tokens) and self.tokens[k].lower in _SUBJECT_GAP_WORDS:
            k += 1
        form = REPORTING_FORMS.get(self.tokens[k].lower) if k < len(self.tokens) else None
        if form is None or form[1]:
            return None
        start, frame = self._content_start(k)
        return cited, start, frame

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
        telling = REPORTING_FORMS.get(tokens[verb_index].lower, ("", False))[0] == "tell"
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
            if self._another_speaker_at(i + 1) or self._closing_relay_at(i + 1):
                return _strip_end(self.text, content_start, token.start), None
            word = tokens[i + 1].lower if i + 1 < len(tokens) else ""
            if word in _TOTAL_ING:
                continue  # ", raising the total to 78": the figure the statement leads to
            if word.endswith("ing") and word not in _PREPOSITION_ING:
                # ", signaling a deepening alliance": the writer's gloss, not the claim.
                return _strip_end(self.text, content_start, token.start), None
        return _strip_end(self.text, content_start, self.body_end), None

    def _another_speaker_at(self, k: int) -> bool:
        """Whether ", while/whereas/but Y said" starts at token ``k``: a second speaker."""
        tokens = self.tokens
        if k >= len(tokens) or tokens[k].lower not in _CONTRAST:
            return False
        subject = self._mention_after(tokens[k].end)
        if subject is None:
            return False
        verb = bisect.bisect_left(tokens, subject.end, key=_token_start)
        while verb < len(tokens) and tokens[verb].lower in _SUBJECT_GAP_WORDS:
            verb += 1
        if verb >= len(tokens):
            return False
        form = REPORTING_FORMS.get(tokens[verb].lower)
        return (form is not None and not form[1]) or tokens[verb].lower in BODY_VERBS

    def _with_article(self, position: int) -> int:
        """``position`` moved back over an article written before it ("the White House")."""
        index = bisect.bisect_left(self.tokens, position, key=_token_start)
        if index and self.tokens[index - 1].lower in ("the", "a", "an"):
            return self.tokens[index - 1].start
        return position

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
            verb_start=speaker.start,
            attribution_start=min(speaker.start, content_end),
            attribution_end=max(speaker.end, content_start),
        )


def _participle_link(token: Token) -> bool:
    """A word of a participle phrase between mentions: "carried out by polling", ", and
    paid for by the", "submitted to" (no finite or reporting verb, no relative clause)."""
    word = token.lower
    if token.text in (",", "the", "and") or word in _WEEKDAY_WORDS or word in ("'s", "’s"):
        return True  # "released Tuesday by the country's electoral commission"
    if not token.text.isalpha() or not token.text.islower() or word in _VERB_WORDS:
        return False
    return word not in _RELATIVE_WORDS  # "polling company Ipsos" is a noun phrase


def _participle(word: str) -> bool:
    """A present participle opening a phrase ("Giving", "Speaking"), by its ending."""
    return len(word) > 5 and word.endswith("ing") and word not in _PREPOSITION_ING


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


def _date_word(word: str) -> bool:
    """A month, weekday, day or year: "Jan.", "20", "2019,", "Monday"."""
    plain = word.rstrip(".,").lower()
    return plain in _DATE_GAP_WORDS or (plain.isdigit() and len(plain) <= 4)


def _adjacent(gap: str) -> bool:
    """Nothing but an article between two words ("according to the Pentagon")."""
    return gap.strip().lower() in ("", "the", "a", "an")


def _adverbial(token: Token) -> bool:
    """A word that may sit between a verb and its "that": "told reporters on Monday that"."""
    if token.text[0].isdigit() or token.text == "," or token.lower in _BEFORE_THAT:
        return True
    return token.text[0].isupper() and token.text[0].isalpha()  # "told Reuters that"


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
