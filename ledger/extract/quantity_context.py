"""Units a figure takes from the text around it when it has none of its own (see
``Units``): the counted noun a sentence, or the one before it, already gave."""

from __future__ import annotations

import bisect
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.extract.quantity_words import (
    ABBREVIATED,
    ANAPHORIC,
    CASUALTY_WORDS,
    CHANGE_NOUNS,
    CHANGE_VERBS,
    CLOSING,
    CLUE_WORDS,
    CONTRASTS,
    COUNTED,
    GRAMMAR,
    LINKS,
    MAGNITUDES,
    METRIC,
    PEOPLE_NOUNS,
    PEOPLE_UNITS,
    POINT_CHANGES,
    QUAKE_WORDS,
    SENTENCE_ENDS,
    countable,
    noun_tag,
    people,
    plural,
    plural_noun,
)

if TYPE_CHECKING:
    from ledger.extract.model import Bound
    from ledger.extract.quantities import _Found, _Scanner, _Token


class Units:
    """Units a figure takes from its surroundings when it has none of its own.

    News leaves out the counted noun once a sentence (or the one before it) has given it:
    "74,000 jobs, construction 52,000", "the death toll rose to 25", "Nine troops were
    killed in April, and 25 have died", "added 304,000 jobs. ... revised to 222,000". Each
    figure looks back a bounded number of tokens, so the pass is linear in the input."""

    def __init__(self, scanner: _Scanner, found: list[_Found]) -> None:
        self.scanner = scanner
        self.found = found
        self.sentence = _sentence_numbers(scanner)
        lowers = scanner.lowers
        # "the number of", "the total of" ("a number of sectors" is several, not a count)
        self.numbers_of = [
            i
            for i in range(2, len(lowers))
            if (
                (lowers[i] == "of" and lowers[i - 1] in ("number", "numbers", "total"))
                or (lowers[i - 1] == "number" and _of_people(lowers[i]))
            )
            and lowers[i - 2] != "a"
        ]
        self.owner: dict[int, int] = {}
        self.in_sentence: dict[int, list[int]] = {}
        for position, item in enumerate(found):
            for index in range(item.first, item.last + 1):
                self.owner[index] = position
            self.in_sentence.setdefault(self.sentence[item.first], []).append(position)

    def resolve(self) -> None:
        for position, item in enumerate(self.found):
            quantity = item.quantity
            unit = quantity.unit
            if unit in PEOPLE_UNITS:
                unit = "people"
            elif unit in METRIC:
                unit = METRIC[unit]
            elif unit == "percent":
                unit = self._percent_or_points(item)
            elif unit == "points" and self._after_a_share(item):
                unit = "percentage points"  # "turnout was 61.3 percent, down 4.2 points"
            elif unit == "degrees":
                unit = self._degree_scale(position)
            if self._magnitude(item, unit):
                unit = "magnitude"
            if unit is None or unit in ANAPHORIC:
                unit = self._inferred(position) or (None if unit is None else "people")
            if unit is not None and not item.kept:
                item.kept = True
            if unit != quantity.unit:
                item.quantity = replace(quantity, unit=unit)
            converted = self._converted(position)
            if converted is not None and item.quantity.bound == "exact":
                item.quantity = replace(item.quantity, bound=converted)

    # -- what the figure itself says -------------------------------------------------------

    def _converted(self, position: int) -> Bound | None:
        """ "around 12km (eight miles)": a figure in brackets right after another restates
        it in other units, so it takes that figure's bound."""
        item, s = self.found[position], self.scanner
        if position == 0 or s.lower(item.first - 1) != "(":
            return None
        previous = self.found[position - 1]
        if previous.last != item.first - 2 or previous.quantity.bound == "exact":
            return None
        return previous.quantity.bound

    def _percent_or_points(self, item: _Found) -> str:
        """ "35.7% Coalition (down 5.7%)", "a 3.7% swing", "now at 30 percent, a three
        percent rise": a change of a share is in percentage points."""
        s = self.scanner
        before, after = s.lower(item.first - 1), s.lower(item.last + 1)
        if after in ("swing", "swings"):
            return "percentage points"
        if before not in ("up", "down") and after not in POINT_CHANGES:
            return "percent"
        return "percentage points" if self._after_a_share(item) else "percent"

    def _after_a_share(self, item: _Found) -> bool:
        """Whether a share that is a level comes before the figure in its sentence."""
        start = item.first - 1
        while start >= 0 and self.sentence[start] == self.sentence[item.first]:
            owner = self.owner.get(start)
            if owner is not None and self._level(self.found[owner]):
                return True
            start -= 1
            if item.first - start > 40:
                break
        return False

    def _level(self, item: _Found) -> bool:
        """A share that is a level ("now at 30 percent"), not a change ("rose 0.1 percent")."""
        s = self.scanner
        before, after = s.lower(item.first - 1), s.lower(item.last + 1)
        if item.quantity.unit not in ("percent", "percentage points"):
            return False
        return not (before in CHANGE_VERBS or before == "by" or after in POINT_CHANGES)

    def _degree_scale(self, position: int) -> str:
        """ "1.3 degrees" after "1.5 degrees Celsius": the scale the text gave before."""
        for earlier in reversed(self.found[max(0, position - 6) : position]):
            unit = earlier.quantity.unit or ""
            if unit.startswith("degrees "):
                return unit
        return "degrees"

    def _magnitude(self, item: _Found, unit: str | None) -> bool:
        """ "a magnitude 6.2", "a magnitude of 6.8", "a 5.9 earthquake": an earthquake's size."""
        s = self.scanner
        if item.spelled or not Decimal(item.quantity.value) < 10:
            return False
        before = s.lower(item.first - 1)
        if before in ("of", "-"):
            before = s.lower(item.first - 2)
        if before in MAGNITUDES:
            return True
        return unit is not None and unit.split()[-1] in QUAKE_WORDS

    # -- what the text around it says ------------------------------------------------------

    def _inferred(self, position: int) -> str | None:
        item = self.found[position]
        return (
            self._of_the(item)
            or self._number_of(position)
            or self._looking_back(position)
            or self._casualty(item)
            or self._previous_sentence(position)
        )

    def _of_the(self, item: _Found) -> str | None:
        """ "77 of the 151 seats", "410 out of 650 seats", "140 of the cases"."""
        s = self.scanner
        at = item.last + 1
        if s.lower(at) == "out" and s.lower(at + 1) == "of":
            at += 2
        elif s.lower(at) == "of":
            at += 1
            if s.lower(at) in ("the", "these", "those", "its", "their", "all"):
                at += 1
        else:
            return None
        owner = self.owner.get(at)
        if owner is not None:
            unit = self.found[owner].quantity.unit
            return unit if countable(unit) else None
        token = s.token(at)
        if token is not None and token.text.islower() and plural_noun(token.lower):
            return people(token.lower)
        return None

    def _number_of(self, position: int) -> str | None:
        """ "the number of nations that unveiled such restrictions had grown to 33": what
        "number of" names, though another noun stands nearer."""
        item, s = self.found[position], self.scanner
        at = bisect.bisect_left(self.numbers_of, item.first) - 1
        if at < 0:
            return None
        index = self.numbers_of[at]
        if item.first - index > 40 or self.sentence[index] != self.sentence[item.first]:
            return None
        if _of_people(s.lower(index)):
            return "people"  # "the number waiting more than 12 hours", "the number who"
        for after in range(index + 1, min(index + 5, item.first)):
            token = s.tokens[after]
            if not (token.is_word and token.text.islower()):
                break
            if plural_noun(token.lower) and countable(token.lower):
                return people(token.lower)
            following = s.token(after + 1)
            if noun_tag(token.lower) in ("JJ", "VBN") and not (
                following is not None
                and following.text.islower()
                and noun_tag(following.lower) in ("NN", "NNS", "JJ", "VBN")
            ):
                return "people"  # "the number of (registered) unemployed": people
        return None

    def _looking_back(self, position: int) -> str | None:
        """The nearest counted noun before the figure in its sentence: a plural noun, a
        figure's unit, or a word for a count of people ("toll")."""
        item, s = self.found[position], self.scanner
        sentence = self.sentence[item.first]
        index = item.first - 1
        while index >= 0 and item.first - index <= 40 and self.sentence[index] == sentence:
            owner = self.owner.get(index)
            if owner is not None:
                other = self.found[owner]
                unit = other.quantity.unit
                if other.compound:
                    unit = None
                if countable(unit) or (unit is not None and self._linked(other, item)):
                    return unit
                index = other.first - 1
                continue
            word = s.lowers[index]
            if word in CONTRASTS:
                break  # "..., but 10 have been reported dead": another clause
            if word in GRAMMAR or (word not in CLUE_WORDS and not word.endswith("s")):
                index -= 1
                continue  # a quick pass over words that cannot be a counted noun
            token = s.tokens[index]
            if token.is_word and token.text.islower():
                if word in PEOPLE_NOUNS:
                    return "people"
                if word in CASUALTY_WORDS and s.lower(index - 1) in ("the", "of"):
                    return "people"  # "the number of injured over 9,000"
                if word in ("toll", "tolls"):
                    return "deaths"
                if word in CHANGE_NOUNS and noun_tag(s.lower(index - 1)) == "NN":
                    return plural(s.lower(index - 1))  # "job gains" count jobs
                if self._counted_noun(index) and not self._aside(index):
                    return people(word)
            index -= 1
        return None

    def _counted_noun(self, index: int) -> bool:
        """A plural noun that heads its phrase: "police" in "police said", not in "police
        spokesman"."""
        s = self.scanner
        word = s.lower(index)
        if not (plural_noun(word) and countable(word)) or word in ANAPHORIC:
            return False
        following = s.token(index + 1)
        return (
            word not in COUNTED
            or following is None
            or not (following.text.islower() and noun_tag(following.lower) in ("NN", "NNS"))
        )

    def _aside(self, index: int) -> bool:
        """A noun that says where or from what, not what is counted: "large parts of Nepal",
        "the death toll from the floods"."""
        s = self.scanner
        place = s.token(index + 2)
        if s.lower(index + 1) == "of" and place is not None and place.text[0].isupper():
            return True
        before = index - 1
        if s.lower(before) in ("the", "these", "those"):
            before -= 1
        return s.lower(before) == "from"

    def _linked(self, other: _Found, item: _Found) -> bool:
        """Whether two figures are joined by a few linking words: "4.3% from 4.1"."""
        between = range(other.last + 1, item.first)
        return len(between) <= 3 and all(self.scanner.lower(i) in LINKS for i in between)

    def _previous_sentence(self, position: int) -> str | None:
        """The unit of the last counted figure of the sentence before: "employers added
        304,000 jobs. ... revised to 222,000" (a figure in digits before a spelled one)."""
        item = self.found[position]
        wanted = self.sentence[item.first] - 1
        digits: str | None = None
        spelled: str | None = None
        for earlier in reversed([self.found[p] for p in self.in_sentence.get(wanted, ())]):
            unit = earlier.quantity.unit
            if not earlier.kept or earlier.compound or not countable(unit):
                continue
            if earlier.spelled:
                spelled = unit
            else:
                digits = unit  # the first one of the sentence wins: its subject
        return digits or spelled

    def _casualty(self, item: _Found) -> str | None:
        """ "4,279 were hurt", "329 injured": people."""
        for index in range(item.last + 1, item.last + 5):
            if self.scanner.lower(index) in CASUALTY_WORDS:
                return "people"
        return None


def _sentence_numbers(scanner: _Scanner) -> list[int]:
    """The sentence number of every token: a new sentence after ".", "!" or "?" followed by
    a capital or a figure (not after "Mr." or "U.S."), and after a line break."""
    tokens, text = scanner.tokens, scanner.text
    numbers: list[int] = []
    current = 0
    for index, token in enumerate(tokens):
        if index > 0:
            previous = tokens[index - 1]
            gap = text[previous.end : token.start]
            if "\n" in gap or (gap and _ends_sentence(scanner, index - 1, token)):
                current += 1
        numbers.append(current)
    return numbers


def _ends_sentence(scanner: _Scanner, index: int, following: _Token) -> bool:
    at = index
    if scanner.tokens[at].text in CLOSING and at > 0:
        at -= 1
    if scanner.tokens[at].text not in SENTENCE_ENDS:
        return False
    first = following.text[0]
    if not (first.isupper() or first.isdigit() or first in "\"“‘'"):
        return False
    word = scanner.lower(at - 1)
    return not (word in ABBREVIATED or "." in word or (len(word) == 1 and word.isalpha()))


def _of_people(word: str) -> bool:
    """ "the number who ...", "the number waiting ...": a count of people."""
    return word == "who" or (word.endswith("ing") and noun_tag(word) == "VBG")
