"""Quantities in news text: "approximately 7,000 containers" -> 7000 containers, approximate.

A linear scan over word, number and symbol tokens (no backtracking regex over the input):
figures, number words, fractions, scales, currencies, percentages, bounds and ranges, and
the counted noun. Years, dates, times, ordinals and numbers inside names are left out.
Conventions are documented in docs/extraction.md ("Quantities").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from importlib import metadata
from pathlib import Path

from ledger.errors import ConfigError
from ledger.extract.cues import MONTHS, wordset
from ledger.extract.features import DISTRIBUTION
from ledger.extract.model import Bound, Quantity

# Numbers (digits with "," or "." between), words (letters joined by ' ’ . -), one symbol.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’.-][^\W\d_]+)*|\S")
_FIGURE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_YEAR = re.compile(r"(?:1[89]|20)\d\d")


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")

    @property
    def is_number(self) -> bool:
        return self.text[0].isdigit()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalpha()


_BOUND_PHRASES: tuple[tuple[tuple[str, ...], Bound], ...] = (
    (("more", "than"), "more_than"), (("over",), "more_than"), (("upwards", "of"), "more_than"),
    (("in", "excess", "of"), "more_than"), (("above",), "more_than"),
    (("longer", "than"), "more_than"), (("passed",), "more_than"), (("passes",), "more_than"),
    (("topped",), "more_than"), (("topping",), "more_than"), (("tops",), "more_than"),
    (("exceeded",), "more_than"), (("exceeding",), "more_than"), (("exceeds",), "more_than"),
    (("surpassed",), "more_than"), (("surpassing",), "more_than"),
    (("at", "least"), "at_least"), (("no", "fewer", "than"), "at_least"),
    (("no", "less", "than"), "at_least"), (("not", "less", "than"), "at_least"),
    (("a", "minimum", "of"), "at_least"),
    (("up", "to"), "at_most"), (("as", "many", "as"), "at_most"), (("as", "much", "as"), "at_most"),
    (("at", "most"), "at_most"), (("a", "maximum", "of"), "at_most"),
    (("no", "more", "than"), "at_most"), (("not", "more", "than"), "at_most"),
    (("fewer", "than"), "less_than"), (("less", "than"), "less_than"), (("under",), "less_than"),
    (("below",), "less_than"),
    (("about",), "approximate"), (("around",), "approximate"), (("approximately",), "approximate"),
    (("approx",), "approximate"), (("roughly",), "approximate"), (("nearly",), "approximate"),
    (("almost",), "approximate"), (("some",), "approximate"), (("an", "estimated"), "approximate"),
    (("estimated",), "approximate"), (("close", "to"), "approximate"), (("~",), "approximate"),
    (("circa",), "approximate"), (("near",), "approximate"),
)  # fmt: skip
_BOUND_BY_FIRST: dict[str, list[tuple[tuple[str, ...], Bound]]] = {}
for _phrase, _kind in _BOUND_PHRASES:
    _BOUND_BY_FIRST.setdefault(_phrase[0], []).append((_phrase, _kind))
# "took over 30 towns": here "over" is part of the verb, not a bound.
_PHRASAL = wordset("take takes took taken taking hand hands handed handing turn turned turns")

_UNITS_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {
    "hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12,
    "crore": 10**7, "lakh": 10**5,
}  # fmt: skip
# Letters written straight after a figure that scale it: "$1.2bn", "£30m", "5k".
_GLUED_SCALES = {"bn": 10**9, "b": 10**9, "tn": 10**12, "trn": 10**12, "mn": 10**6, "k": 1000}
_GLUED_UNITS = wordset("km kg mm cm mph kph ft lb lbs mw gw kw mwh gwh twh bpd")
# A plural of round numbers is approximate, valued at twice the round number: "dozens of"
# -> 24, "hundreds of" -> 200, "tens of thousands of" -> 20,000.
_ROUND_PLURALS = {
    "dozens": 12, "hundreds": 100, "thousands": 1000, "millions": 10**6, "billions": 10**9,
    "scores": 20,
}  # fmt: skip
_DENOMINATORS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
    "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "seventh": 7, "sevenths": 7,
    "eighth": 8, "eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10, "tenths": 10,
}  # fmt: skip

_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB"}
_DOLLAR_PREFIXES = {"us": "USD", "a": "AUD", "c": "CAD", "hk": "HKD", "nz": "NZD", "s": "SGD"}
_CODES = wordset("USD EUR GBP JPY CNY RMB INR KRW RUB CHF AUD CAD HKD UAH")
_CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "yen": "JPY",
    "yuan": "CNY", "renminbi": "CNY", "won": "KRW", "rupee": "INR", "rupees": "INR",
    "ruble": "RUB", "rubles": "RUB", "rouble": "RUB", "roubles": "RUB", "hryvnia": "UAH",
    "hryvnias": "UAH", "franc": "CHF", "francs": "CHF", "lira": "TRY", "rand": "ZAR",
    "shekel": "ILS", "shekels": "ILS", "riyal": "SAR", "riyals": "SAR", "naira": "NGN",
}  # fmt: skip
_DOLLAR_COUNTRIES = {"canadian": "CAD", "australian": "AUD", "singapore": "SGD", "us": "USD"}

# Words after a figure that are grammar, not what is counted ("7 of the", "10 to 12").
_GRAMMAR = wordset(
    """of and or but nor to in on at for the a an per from by with as than that which who whom
    whose is are was were be been being has have had will would could may might can should
    must shall do does did this these those it its their his her our your my not no into onto
    over under about after before since during while when where more most less least each
    every any all such only also still even just very so up down out off there here then now
    ago last next past against between among across through via if because percent cent
    them they we you us him he she me i"""
)
# Adjectives that modify the counted noun ("450,000 active-duty soldiers" counts soldiers).
_ADJECTIVES = wordset(
    """new more additional other extra active young old armed foreign registered nuclear
    military civilian local total further many several major small large big high low key
    top main full public private global national international domestic senior junior
    elderly injured wounded dead missing displaced unemployed former current previous
    potential possible separate different various same first second third"""
)
_ADJECTIVE_SUFFIXES = (
    "al", "ive", "ous", "ic", "ful", "less", "able", "ible", "ary", "ese", "ian", "ern", "ed",
    "ing", "est", "ish", "ly",
)  # fmt: skip
_ING_NOUNS = wordset("shipping housing training fishing mining building banking polling funding")
_COUNTED = wordset(
    """people police personnel staff troops cattle livestock aircraft sheep fish deer crew
    men women children feet teeth mice geese offspring"""
)
_MEASURES = wordset(
    """km kilometre kilometer kilometres kilometers mile miles metre meter metres meters kg
    kilogram kilograms tonne tonnes ton tons barrel barrels litre liter litres liters gallon
    gallons hectare hectares acre acres mph kph degree degrees ft foot feet inch inches hour
    hours day days week weeks month months year years minute minutes second seconds mw gw
    kw mwh gwh twh bpd pound pounds ounce ounces"""
)
_TIME_UNITS = wordset("hour hours day days week weeks month months year years minute minutes")
_TIMES = wordset("am pm a.m p.m o'clock gmt utc bst est edt cet")
_CHANGE_VERBS = wordset(
    """rose rise rises rising risen fell fall falls falling fallen increased increase increases
    decreased decrease decreases climbed climb dropped drop grew grow grown jumped jump surged
    soared slipped declined plunged tumbled slumped cut raised lowered reduced up down revised
    went moved edged ticked doubled boosted lifted eased shrank widened narrowed"""
)
_MONTH_WORDS = frozenset(MONTHS) | wordset("jan feb mar apr jun jul aug sep sept oct nov dec")
# Capitalised words that may stand before a figure without making it part of a name.
_MOVES_UP = _CHANGE_VERBS | wordset("inched inch inches crept creep nudged ticks edges")
_COPULAS = wordset("was is were are of by")
_TALLY_CUES = wordset(
    """vote votes voted tally count confirmed approved passed rejected defeated adopted
    ratified margin"""
)
_BEFORE_FIGURE = _GRAMMAR | wordset(
    """about around approximately roughly nearly almost some estimated only just another
    exactly fewer over under below above those these with"""
)

# After a spelled-out figure with no noun, words that show the noun was left out because
# the sentence already gave it: "six wounded", "one was captured", "hundreds more".
_ELIDED_AFTER = wordset("were was are have had more others ( )")
_CASUALTY_WORDS = wordset(
    """killed dead died injured wounded hurt missing captured arrested detained hospitalised
    hospitalized evacuated rescued displaced trapped abducted kidnapped"""
)
_NOT_COUNTING = wordset("the no any every each which whichever this that")
# Nouns that stand for a count of people: "the death toll rose to 25", "a population of 9,000".
_PEOPLE_NOUNS = wordset("population populations headcount")
_PEOPLE_UNITS = wordset("persons individuals")
# Plural nouns that point back at something else ("six others") or count nothing.
_ANAPHORIC = wordset("others ones them data news")
_LONGER_TIMES = wordset("decade decades century centuries")
_QUAKE_WORDS = wordset("quake quakes earthquake earthquakes tremor tremors aftershock aftershocks")
_POINT_CHANGES = wordset("swing swings rise increase drop fall decline gain jump")
_DEGREE_SCALES = {"celsius": "degrees Celsius", "fahrenheit": "degrees Fahrenheit"}
_MAGNITUDES = wordset("magnitude magnitudes")
_ORDINAL_PARTS = wordset("first second third fourth final last latter other")
_FEW_OF = {"dozen": 12, "hundred": 100, "thousand": 1000, "million": 10**6}
# Words of a figure-word compound that are not plain nouns: "a 60-strong team" (people).
_COMPOUND_UNITS = {
    "strong": "people", "bps": "basis points", "bp": "basis points", "percent": "percent",
    "magnitude": "magnitude", "point": "points",
}  # fmt: skip
_METRIC = {
    "kilometres": "km", "kilometers": "km", "metres": "m", "meters": "m", "kilograms": "kg",
    "centimetres": "cm", "centimeters": "cm", "millimetres": "mm", "millimeters": "mm",
}  # fmt: skip


# Words a quantity's text can start with (besides figures, currency symbols and codes).
_STARTERS = (
    frozenset(_BOUND_BY_FIRST)
    | frozenset(_UNITS_WORDS)
    | frozenset(_ROUND_PLURALS)
    | frozenset(_DOLLAR_PREFIXES)
    | wordset("a an half dozen tens between from rs rs.")
)


@dataclass(frozen=True)
class _Number:
    """A figure's value and the tokens it spans, with what kind of figure it is."""

    value: Decimal
    first: int  # index of its first token (its currency included)
    last: int  # index of its last token (its scale included)
    currency: str | None = None
    year_like: bool = False  # four digits 1800..2099 with nothing attached
    word: bool = False  # spelled out ("two", "a dozen")
    scaled: bool = False  # carries a scale ("1.5 million", "$2bn", "a dozen")
    round_plural: bool = False  # "dozens", "hundreds of thousands"
    percent: bool = False  # a fraction ("a third of") is a share in percent
    inexact: bool = False  # "a third" is 33.3 only approximately
    figure: Decimal | None = None  # the digits' own value, before any scale ("7" of "7 million")


@dataclass
class _Found:
    """A quantity read by the scanner, with the tokens it spans; ``kept`` is false for a
    spelled-out figure with no unit ("six wounded"), kept only when a unit is inferred."""

    quantity: Quantity
    first: int  # its text's first token
    figure: int  # the figure's first token (past any bound words)
    last: int  # its text's last token
    kept: bool = True
    spelled: bool = False  # a spelled-out figure or a round plural ("six", "hundreds")
    compound: bool = False  # "a 35-day shutdown": it describes a noun, it counts nothing


def find_quantities(
    text: str, start: int = 0, end: int | None = None, *, skip: Sequence[tuple[int, int]] = ()
) -> list[Quantity]:
    """Quantities in ``text[start:end]``, in order; numbers inside ``skip`` spans (dates) are not.

    The sentence before the window is read too (a bounded stretch of text), so that a bare
    figure can take the unit the text gave its neighbours ("added 304,000 jobs. December's
    total was revised to 222,000" -> jobs); see ``_Units``."""
    end = len(text) if end is None else end
    before = _context_start(text, start)
    context = [_Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text, before, start)]
    window = [_Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text, start, end)]
    tokens = context + window
    scanner = _Scanner(text, tokens, skip)
    found: list[_Found] = []
    index = 0
    while index < len(tokens):
        in_context = index < len(context)
        item, index = scanner.quantity_at(index)
        if in_context and index > len(context):
            item, index = None, len(context)  # cut by the window's start: read it there
        if item is not None:
            found.append(item)
    _Units(scanner, found).resolve()
    return [item.quantity for item in found if item.first >= len(context) and item.kept]


def _context_start(text: str, start: int) -> int:
    """Where the context read before a window begins: at most ``_CONTEXT`` characters back,
    at a space, so that no token is cut."""
    if start <= 0:
        return start
    low = max(0, start - _CONTEXT)
    if low == 0:
        return 0
    space = text.find(" ", low, start)
    return start if space < 0 else space + 1


_CONTEXT = 480


@dataclass(frozen=True)
class _Range:
    low: Decimal
    high: Decimal
    last: int  # index of the high end's last token


class _Scanner:
    """Reads the quantity starting at a token. Every method looks a bounded number of tokens
    around it, so scanning a text is linear in its length."""

    def __init__(self, text: str, tokens: list[_Token], skip: Sequence[tuple[int, int]]):
        self.text = text
        self.tokens = tokens
        self.skip = skip
        self.lowers = [token.lower for token in tokens]

    def token(self, index: int) -> _Token | None:
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def lower(self, index: int) -> str:
        return self.lowers[index] if 0 <= index < len(self.lowers) else ""

    def glued(self, index: int) -> bool:
        """Whether token ``index`` follows the previous one with no space between."""
        token, previous = self.token(index), self.token(index - 1)
        return token is not None and previous is not None and previous.end == token.start

    def spaced(self, index: int) -> bool:
        """Whether token ``index`` follows the previous one after a space or a few (no
        line break): "2  degrees" is a typo, not two things."""
        token, previous = self.token(index), self.token(index - 1)
        if token is None or previous is None:
            return False
        gap = self.text[previous.end : token.start]
        return 0 < len(gap) <= 3 and all(c in " \t\u00a0" for c in gap)

    # -- one quantity ---------------------------------------------------------------------

    def quantity_at(self, index: int) -> tuple[_Found | None, int]:
        """The quantity whose text starts at token ``index`` (or None) and the token index
        to go on from: past a figure that is not a quantity (a year, a score), so its parts
        are not read again."""
        if not self._may_start(index):
            return None, index + 1
        bound, marker, begin = self._lead(index)
        if self._after_dash(begin) and self.lower(begin - 2) not in _MAGNITUDES:
            return None, index + 1  # "2022-23", "COVID-19": the tail of something else
        compound = self._compound_quantity(begin)
        if compound is not None:
            measured, measure, end = compound
            if measured is None:
                return None, end + 1  # "a 15-year-old": an age
            quantity = Quantity(
                value=_plain(measured),
                unit=measure,
                bound=bound or "exact",
                text=self.text[self.tokens[index].start : self.tokens[end].end],
            )
            return _Found(quantity, index, begin, end, compound=True), end + 1
        number = self._number(begin)
        if number is None:
            return None, index + 1
        number = self._ratio(number)
        span = self._range(marker, number)
        if marker is not None and span is None:
            return None, index + 1  # "between"/"from" without a range: read the figure alone
        last = number.last if span is None else span.last
        tally = self._tally(begin, number) if span is None else None
        if tally is not None:
            quantity = Quantity(
                value=_plain(number.value),
                unit="votes",
                bound="exact" if bound is None or self.lower(index) in _TALLY_CUES else bound,
                text=self.text[self.tokens[index].start : self.tokens[tally].end],
            )
            return _Found(quantity, index, begin, tally), tally + 1
        priced = number.currency is not None and not self._figure_after_dash(number.last + 1)
        if span is None and self._dash_after(number.last) and not priced:
            return None, self._past_dashes(number.last)  # "3-2", "555-0100" ("$100-a-barrel")
        unit, unit_last = self._unit(number, last)
        if unit is None and span is None:
            unit = self._unit_of_change_target(number)
        tentative = self._tentative(number, span, unit)
        if not tentative and self._not_a_quantity(number, span, unit, bound):
            return None, last + 1
        final = max(unit_last, last)
        quantity = Quantity(
            value=_plain(number.value if span is None else span.low),
            unit=unit,
            bound=bound or ("approximate" if number.inexact or number.round_plural else "exact"),
            text=self.text[self.tokens[index].start : self.tokens[final].end],
            high=None if span is None else _plain(span.high),
        )
        found = _Found(quantity, index, begin, final, kept=not tentative, spelled=number.word)
        return found, final + 1

    def _compound_quantity(self, index: int) -> tuple[Decimal | None, str, int] | None:
        """A figure joined to the noun it measures, "a 35-day shutdown", "the 600-seat
        parliament", "a three-day mourning", "a 60-strong team", "a 50-bps hike": the
        value, the unit and the compound's last token. An age ("a 15-year-old", "a
        six-month-old baby") is no quantity: value None. None when no compound starts at
        ``index`` ("152-millimeter" after a figure is part of that figure's unit)."""
        token = self.token(index)
        if token is None or any(s <= token.start < e for s, e in self.skip):
            return None
        if token.is_number:
            if not _FIGURE.fullmatch(token.text) or not self._compound(index):
                return None
            if self.glued(index) and self.lower(index - 1) not in ("-", "–", "(", '"', "“"):
                return None  # "G7-led", "F-16-style"
            if self.token(index + 2) is not None and self.glued(index + 3):
                if self.lower(index + 3) in ("-", "–") and self.token(index + 4) is not None:
                    tail = f"{self.lower(index + 2)}-{self.lower(index + 4)}"
                    last = index + 4
                else:
                    tail, last = self.lower(index + 2), index + 2
            else:
                tail, last = self.lower(index + 2), index + 2
            value = Decimal(token.text.replace(",", ""))
        else:
            head, _, tail = token.lower.partition("-")
            if head not in _UNITS_WORDS or not tail or _hyphen_number(token.lower) is not None:
                return None
            value, last = Decimal(_UNITS_WORDS[head]), index
        word, _, rest = tail.partition("-")
        if rest == "old" and word in _TIME_UNITS | wordset("year month week day"):
            return (value if value >= 130 else None), _plural(word), last
        unit = _compound_unit(word)
        if unit is None or rest or value == 1:
            return None
        return value, unit, last

    def _tentative(self, number: _Number, span: _Range | None, unit: str | None) -> bool:
        """A spelled-out count or round plural with no unit of its own, "six wounded and one
        was captured", "scores injured", "hundreds more": a quantity only if its unit can be
        told from what surrounds it (``_Units``)."""
        if unit is not None or span is not None or not number.word or number.percent:
            return False
        if number.scaled and not number.round_plural:
            return False
        following, before = self.lower(number.last + 1), self.lower(number.first - 1)
        if number.first > 0 and before in _NOT_COUNTING:
            return False
        if following == "of":  # "six of the seven board members", not "one of the best"
            if number.value == 1:
                return False  # "one of 15 tests" says which, not how many
            at = number.last + 2
            at += self.lower(at) in ("the", "these", "those", "its", "their")
            return self._is_figure(at)
        if number.round_plural and following in (",", ";", "."):
            return True  # "the toll could reach thousands, an official said"
        return (
            following in _ELIDED_AFTER
            or following in _CASUALTY_WORDS
            or before in _CASUALTY_WORDS  # "killed five troops and wounded four"
            or before in ("another", "other")  # "another two hit a vehicle"
        )

    def _may_start(self, index: int) -> bool:
        """A cheap test that lets most words through unread."""
        token = self.tokens[index]
        if token.is_number or token.text in _SYMBOLS or token.text in _CODES:
            return True
        word = self.lowers[index]
        return word in _STARTERS or word.partition("-")[0] in _UNITS_WORDS

    def _not_a_quantity(
        self, number: _Number, span: _Range | None, unit: str | None, bound: Bound | None
    ) -> bool:
        """Years ("in 2024", "2019-2023"), bare number words ("one of the best"), ages
        ("Solih, 56, was", "children ages 5 to 17", "under the age of 5")."""
        if self._age(number):
            return True
        if number.year_like:
            if span is not None:
                return _YEAR.fullmatch(_plain(span.high)) is not None
            distance = unit in _MEASURES and unit not in _TIME_UNITS  # "1850 km"
            return not (number.currency or unit == "percent" or (bound and unit) or distance)
        if number.word and unit is None:
            return number.round_plural or not (number.scaled or number.percent)
        return False

    def _age(self, number: _Number) -> bool:
        before, after = self.lower(number.first - 1), self.lower(number.last + 1)
        if before in ("aged", "ages", "age") or (
            before == "of" and self.lower(number.first - 2) == "age"
        ):
            return True
        name = self.token(number.first - 2)
        return (
            before == ","
            and after == ","
            and name is not None
            and name.text[0].isupper()
            and not number.word
            and number.value < 130
            and number.value == number.value.to_integral_value()
        )

    # -- bound words ----------------------------------------------------------------------

    def _lead(self, index: int) -> tuple[Bound | None, str | None, int]:
        """The bound phrase at ``index`` ("more than", "about"), or the range marker
        ("between", "from"), and the index of the figure after it."""
        word = self.lower(index)
        if word in ("between", "from") and self._starts_figure(index + 1):
            return None, word, index + 1
        for phrase, kind in _BOUND_BY_FIRST.get(word, ()):
            after = index + len(phrase)
            if all(self.lower(index + k) == part for k, part in enumerate(phrase)):
                if not self._starts_figure(after):
                    continue
                if phrase == ("over",) and self.lower(index - 1) in _PHRASAL:
                    continue
                if phrase == ("up", "to") and self.lower(index - 1) in _MOVES_UP:
                    continue  # "edged up to 4 percent": the level reached, not a ceiling
                return kind, None, after
        return None, None, index

    def _starts_figure(self, index: int) -> bool:
        """Whether a figure (or its currency) can start at ``index``, right after a bound."""
        token = self.token(index)
        if token is None or not (self.spaced(index) or self.lower(index - 1) == "~"):
            return False
        if token.is_number or token.text in _SYMBOLS or token.text in _CODES:
            return True
        word = token.lower
        return (
            word in _UNITS_WORDS
            or word in _ROUND_PLURALS
            or word in ("a", "an", "half", "dozen", "tens", "rs", "rs.")
            or word in _DOLLAR_PREFIXES
            or _hyphen_number(word) is not None
            or word.partition("-")[0] in _UNITS_WORDS  # "near four-year"
        )

    # -- figures --------------------------------------------------------------------------

    def _number(self, index: int) -> _Number | None:
        """A figure with its currency and scale starting at ``index``."""
        currency, at = self._currency_prefix(index)
        token = self.token(at)
        if token is None:
            return None
        number = self._figure(at, currency is not None) if token.is_number else self._spelled(at)
        if number is None or currency is None:
            return number
        return _Number(
            number.value,
            index,
            number.last,
            currency=currency,
            scaled=number.scaled,
            figure=number.figure,
        )

    def _currency_prefix(self, index: int) -> tuple[str | None, int]:
        """ "$", "€", "US$", "A$", "Rs", "USD" before a figure: (currency, figure index)."""
        token = self.token(index)
        if token is None:
            return None, index
        if token.text in _SYMBOLS and self._figure_follows(index + 1):
            return _SYMBOLS[token.text], index + 1
        if token.text in _CODES and self.spaced(index + 1) and self._is_figure(index + 1):
            return ("CNY" if token.text == "RMB" else token.text), index + 1
        if token.lower in ("rs", "rs.") and self._figure_follows(index + 1):
            return "INR", index + 1
        dollar = self.token(index + 1)
        if (
            token.lower in _DOLLAR_PREFIXES
            and token.text.isupper()
            and dollar is not None
            and dollar.text == "$"
            and self.glued(index + 1)
            and self._figure_follows(index + 2)
        ):
            return _DOLLAR_PREFIXES[token.lower], index + 2
        return None, index

    def _figure_follows(self, index: int) -> bool:
        return (self.glued(index) or self.spaced(index)) and self._is_figure(index)

    def _is_figure(self, index: int) -> bool:
        token = self.token(index)
        return token is not None and (token.is_number or token.lower in _UNITS_WORDS)

    def _figure(self, index: int, after_currency: bool) -> _Number | None:
        """Digits with a glued or following scale: "7,000", "1.5 million", "$1.2bn"."""
        token = self.tokens[index]
        if not _FIGURE.fullmatch(token.text) or not self._stands_alone(index, after_currency):
            return None
        value = Decimal(token.text.replace(",", ""))
        after = self.token(index + 1)
        if after is not None and after.is_word and self.glued(index + 1):
            scale = _GLUED_SCALES.get(after.lower)
            if after.lower == "m" and after_currency:
                scale = 10**6  # "£30m"; without a currency "30m" is metres
            if scale is not None:
                return _Number(value * scale, index, index + 1, scaled=True, figure=value)
            if _glued_unit(after):
                return _Number(value, index, index)
            return None  # "4G", "1e3", "3D"
        if after is not None and after.lower in _SCALES and self.spaced(index + 1):
            scaled, last = value * _SCALES[after.lower], index + 1
            if after.lower in ("lakh", "thousand") and self.lower(last + 1) == "crore":
                scaled = scaled * _SCALES["crore"]  # "11.11 lakh crore"
                last += 1
            rest = self.token(last + 1)
            if (
                rest is not None
                and self.spaced(last + 1)
                and _FIGURE.fullmatch(rest.text)
                and "," in rest.text
                and value == value.to_integral_value()
                and Decimal(rest.text.replace(",", "")) < _SCALES[after.lower]
            ):
                # "1 million 51,998 voters": the rest of the figure after its scale
                scaled, last = scaled + Decimal(rest.text.replace(",", "")), last + 1
            return _Number(scaled, index, last, scaled=True, figure=value)
        grouped = self._digit_groups(index)
        if grouped is not None:
            return grouped
        year_like = not after_currency and _YEAR.fullmatch(token.text) is not None
        return _Number(value, index, index, year_like=year_like)

    def _stands_alone(self, index: int, after_currency: bool) -> bool:
        """Not part of a name, date, time, ordinal, version or phone number."""
        token = self.tokens[index]
        if any(s <= token.start < e for s, e in self.skip):
            return False
        previous, after = self.token(index - 1), self.token(index + 1)
        if previous is not None and self.glued(index) and not after_currency:
            if previous.text in ("-", "–"):
                if self.lower(index - 2) in _MAGNITUDES:
                    pass  # "a magnitude-7.8 earthquake"
                elif not self.lower(index - 2)[:1].isdigit() or not self.glued(index - 1):
                    return False  # "F-16", "Su-27", "mid-2022"
            elif previous.is_word or previous.is_number or previous.text in "/:#+.,":
                return False  # "G7", "24/7", "10:30", "#1", "+44"
        if after is not None and self.glued(index + 1):
            if after.text in (":", "/") or after.lower in ("st", "nd", "rd", "th", "s", "'s"):
                return False  # "10:30", "1st", "1990s"
            dash = after.text in ("-", "–") and not self._figure_after_dash(index + 1)
            if dash and not after_currency:
                return False  # "152-millimeter", "10-year-old": a modifier ("$100-a-barrel" is not)
        if previous is not None and previous.is_word and self.spaced(index) and not after_currency:
            name = previous.lower
            if name.rstrip(".") in _MONTH_WORDS or name in ("no", "no.", "number", "nos"):
                return False  # "March 5", "number 10"
            named = any(c.isupper() for c in previous.text) and name not in _BEFORE_FIGURE
            if named and not self._counted_after(index):
                return False  # "Apollo 11", "Article 5", "Windows 11"
        if previous is not None and previous.text == "." and self.spaced(index):
            name = self.lower(index - 2)
            if name == "no" or name in _MONTH_WORDS:
                return False  # "No. 10", "Sept. 12"
        if after is not None and self.spaced(index + 1):
            if after.lower.rstrip(".") in _MONTH_WORDS or after.lower in _TIMES:
                return False  # "5 March", "3 p.m."
            if after.lower == "of" and self.lower(index + 2).rstrip(".") in _MONTH_WORDS:
                return False
        if token.text.isdigit() and self._bare_neighbour(index):
            return self._digit_groups(index) is not None  # "56 949 009", not "+44 20 7946"
        return True

    def _digit_groups(self, index: int) -> _Number | None:
        """ "56 949 009": thousands separated by spaces, two groups of three digits or more
        after a first group of one to three (not a phone number: "+44 20 7946 0958")."""
        token = self.tokens[index]
        if not (token.text.isdigit() and len(token.text) <= 3) or self._digit_before(index):
            return None
        last = index
        while (
            last - index < 6
            and self.spaced(last + 1)
            and (group := self.token(last + 1)) is not None
            and group.text.isdigit()
            and len(group.text) == 3
            and self.text[self.tokens[last].end : group.start] == " "
        ):
            last += 1
        if last - index < 2 or self._digit_after(last):
            return None
        digits = "".join(self.tokens[i].text for i in range(index, last + 1))
        return _Number(Decimal(digits), index, last)

    def _digit_before(self, index: int) -> bool:
        before = self.token(index - 1)
        return before is not None and (before.text.isdigit() or before.text == "+")

    def _digit_after(self, index: int) -> bool:
        after = self.token(index + 1)
        return after is not None and after.text.isdigit() and self.spaced(index + 1)

    def _counted_after(self, index: int) -> bool:
        """Whether a figure after a name is followed by a plural noun it counts: "the
        incumbent Yameen 96,132 votes", "Coalition 77 seats" (not "Apollo 11 astronauts",
        where the figure is a small plain number)."""
        token, after = self.tokens[index], self.token(index + 1)
        if after is None or not self.spaced(index + 1) or not after.text.islower():
            return False
        large = "," in token.text or (token.text.isdigit() and int(token.text) >= 20)
        return large and _noun_tag(after.lower) == "NNS"

    def _bare_neighbour(self, index: int) -> bool:
        """Whether a plain digit group sits next to another: "+44 20 7946 0958"."""
        before, after = self.token(index - 1), self.token(index + 1)
        return bool(
            (before is not None and before.text.isdigit() and self.spaced(index))
            or (after is not None and after.text.isdigit() and self.spaced(index + 1))
        )

    def _figure_after_dash(self, dash: int) -> bool:
        after = self.token(dash + 1)
        return after is not None and after.is_number and self.glued(dash + 1)

    def _after_dash(self, index: int) -> bool:
        previous = self.token(index - 1)
        return previous is not None and previous.text in ("-", "–") and self.glued(index)

    def _dash_after(self, index: int) -> bool:
        after = self.token(index + 1)
        return after is not None and after.text in ("-", "–") and self.glued(index + 1)

    def _past_dashes(self, index: int) -> int:
        """The index after a chain of glued "-" joined figures ("555-0100", "3-2-1")."""
        while self._dash_after(index) and self._figure_after_dash(index + 1):
            index += 2
        return index + 1

    def _spelled(self, index: int) -> _Number | None:
        """Number words: "thirteen thousand", "a dozen", "half a million", "dozens of",
        "a third of", "one-thousand"."""
        if any(s <= self.tokens[index].start < e for s, e in self.skip):
            return None
        word = self.lower(index)
        fraction = self._fraction(index)
        if fraction is not None:
            return fraction
        if word == "scores" and not self._scores_counted(index):
            return None  # "test scores": "scores" counts only as "scores of", "scores injured"
        if word in _ROUND_PLURALS or word == "tens":
            return self._round_plural(index)
        if word == "half" and self.lower(index + 1) == "a" and self.lower(index + 2) in _SCALES:
            value = Decimal(_SCALES[self.lower(index + 2)]) / 2
            return _Number(value, index, index + 2, word=True, scaled=True)
        if word == "a" and self.lower(index + 1) == "few" and self.lower(index + 2) in _FEW_OF:
            few = Decimal(2 * _FEW_OF[self.lower(index + 2)])  # "a few dozen": as "dozens", 24
            return _Number(few, index, index + 2, word=True, scaled=True, inexact=True)
        if word in ("a", "an"):
            following = self.lower(index + 1)
            if not (following == "dozen" or following in _SCALES) or not self.spaced(index + 1):
                return None
            return self._words(index + 1, first=index, start=Decimal(1))
        return self._words(index, first=index, start=None)

    def _words(self, index: int, *, first: int, start: Decimal | None) -> _Number | None:
        """A run of number words from ``index``: "three hundred and fifty thousand"."""
        total, current, scaled = Decimal(0), start, False
        last, position = index - 1, index
        while position < len(self.tokens) and position - index < 12:
            if position > index and not self.spaced(position):
                break
            word = self.lower(position)
            compound = _hyphen_number(word)
            if compound is not None:
                current = (current or Decimal(0)) + compound
                scaled = scaled or compound >= 100
            elif word in _UNITS_WORDS:
                current = (current or Decimal(0)) + _UNITS_WORDS[word]
            elif word in ("dozen", "hundred"):
                current = (current or Decimal(1)) * (12 if word == "dozen" else 100)
                scaled = True
            elif word in _SCALES and current is not None:
                total, current, scaled = total + current * _SCALES[word], Decimal(0), True
            elif word == "and" and self.lower(last) == "hundred":
                if self.lower(position + 1) not in _UNITS_WORDS:
                    break
                position += 1
                continue
            else:
                break
            last, position = position, position + 1
        if last < index or current is None:
            return None
        return _Number(total + current, first, last, word=True, scaled=scaled)

    def _scores_counted(self, index: int) -> bool:
        following = self.lower(index + 1)
        return following in ("of", "more") or following in _CASUALTY_WORDS

    def _round_plural(self, index: int) -> _Number | None:
        """ "dozens of", "hundreds of thousands of", "tens of millions of": approximate,
        valued at twice the round number."""
        word, following, larger = self.lower(index), self.lower(index + 1), self.lower(index + 2)
        if following == "of" and larger in _ROUND_PLURALS and word in ("tens", "hundreds"):
            value = (10 if word == "tens" else 100) * 2 * _ROUND_PLURALS[larger]
            return _Number(Decimal(value), index, index + 2, word=True, round_plural=True)
        if word == "tens":
            return None
        value = 2 * _ROUND_PLURALS[word]
        return _Number(Decimal(value), index, index, word=True, round_plural=True)

    def _fraction(self, index: int) -> _Number | None:
        """ "a third of", "two-thirds of", "half of" -> a share in percent."""
        word = self.lower(index)
        head, _, tail = word.partition("-")
        if tail and head in _UNITS_WORDS and tail in _DENOMINATORS:
            numerator, denominator, last = _UNITS_WORDS[head], _DENOMINATORS[tail], index
        elif word == "half":
            numerator, denominator, last = 1, 2, index
        elif (word in ("a", "an") or word in _UNITS_WORDS) and self.spaced(index + 1):
            numerator = 1 if word in ("a", "an") else _UNITS_WORDS[word]
            denominator = _DENOMINATORS.get(self.lower(index + 1), 0)
            last = index + 1
        else:
            return None
        if denominator == 0:
            return None
        part = self._part_of_a_unit(numerator, denominator, index, last)
        if part is not None:
            return part
        if self.lower(last + 1) != "of":
            return None
        if self.lower(index - 1) in _ORDINAL_PARTS:
            return None  # "the second half of 2016", "the first quarter of the year"
        if (numerator > 1) != self.lower(last).endswith("s"):
            return None  # "two thirds of" or "a third of", not "two third of"
        share = Decimal(100 * numerator) / Decimal(denominator)
        exact = share == share.quantize(Decimal("0.01"))
        value = share if exact else share.quantize(Decimal("0.1"))
        return _Number(value, index, last, word=True, percent=True, inexact=not exact)

    def _part_of_a_unit(
        self, numerator: int, denominator: int, index: int, last: int
    ) -> _Number | None:
        """ "half a percentage point", "a quarter of a percentage point", "a third of a
        mile": the fraction of one unit (0.5, 0.25, 0.33), the unit read after "a"."""
        article = last + 1
        if self.lower(article) == "of" and self.lower(index) != "half":
            article += 1
        if self.lower(article) not in ("a", "an") or not self.spaced(article + 1):
            return None
        measure = self.lower(article + 1)
        if (
            measure in _SCALES
            or measure == "dozen"
            or not (measure in ("percentage", "basis", "point") or measure in _MEASURES)
        ):
            return None
        share = Decimal(numerator) / Decimal(denominator)
        exact = share == share.quantize(Decimal("0.0001"))
        value = share if exact else share.quantize(Decimal("0.01"))
        return _Number(value, index, article, word=True, scaled=True, inexact=not exact)

    def _ratio(self, number: _Number) -> _Number:
        """ "1 in 5 adults", "one in three" -> a share in percent (20, 33.3)."""
        joint = number.last + 1
        if self.lower(joint) != "in" or number.currency or number.scaled or number.percent:
            return number
        if not (self.spaced(joint) and self.spaced(joint + 1)):
            return number
        whole = self._number(joint + 1)
        if whole is None or whole.currency or whole.scaled or whole.year_like:
            return number
        if whole.first != joint + 1 or not 0 < number.value < whole.value <= 1000:
            return number
        if self.lower(whole.last + 1) in _MEASURES:
            return number  # "3 in 10 minutes" is a count in a time, not a share
        share = 100 * number.value / whole.value
        exact = share == share.quantize(Decimal("0.01"))
        value = share if exact else share.quantize(Decimal("0.1"))
        return _Number(value, number.first, whole.last, word=True, percent=True, inexact=not exact)

    # -- ranges ---------------------------------------------------------------------------

    def _range(self, marker: str | None, number: _Number) -> _Range | None:
        """ "12-17", "12 to 17", "between 12 and 17", "from 5,000 to 7,000": the range, or
        None when the figure stands alone."""
        joint = number.last + 1
        if marker is not None and self.lower(joint) in ("percent", "%") and not number.currency:
            following = self.lower(joint + 1)
            if (following == "and" and marker == "between") or following == "to":
                joint += 1  # "between 2 percent and 2.25 percent": the unit said twice
        link = self.lower(joint)
        dash = link in ("-", "–") and self.glued(joint) and self.glued(joint + 1)
        spaced_word = self.spaced(joint) and self.spaced(joint + 1)
        if not (
            dash
            or (link == "to" and marker != "between" and spaced_word)
            or (link == "and" and marker == "between" and spaced_word)
        ):
            return None
        if number.percent or number.round_plural or (link == "to" and self._changing(number)):
            return None
        high = self._number(joint + 1)
        if high is None or high.percent or high.round_plural or high.first != joint + 1:
            return None
        if number.currency and high.currency not in (None, number.currency):
            return None
        low = number.value
        if high.scaled and not number.scaled and not number.word and not high.word:
            scale = high.value / high.figure if high.figure else Decimal(1)
            if low * scale < high.value:
                low = low * scale  # "5 to 7 million": the scale is shared
        if not low < high.value:
            return None
        return _Range(low, high.value, high.last)

    def _tally(self, begin: int, number: _Number) -> int | None:
        """A vote tally, "the Senate voted 50-48", "the final tally was 50-48", "confirmed
        50 to 48": the votes for (the first figure) are the quantity; the index of the second
        figure's last token, or None. A vote word must come right before (past a copula)."""
        if number.word or number.percent or number.currency or number.year_like:
            return None
        before = number.first - 1
        if self.lower(before) in _COPULAS:
            before -= 1
        if self.lower(before) not in _TALLY_CUES:
            return None
        joint = number.last + 1
        link = self.lower(joint)
        dash = link in ("-", "–") and self.glued(joint) and self.glued(joint + 1)
        if not (dash or (link == "to" and self.spaced(joint) and self.spaced(joint + 1))):
            return None
        other = self._number(joint + 1)
        if other is None or other.word or other.first != joint + 1 or other.percent:
            return None
        if other.value > number.value:
            return None  # a tally is written winner first; "voted 5 to 12" is something else
        return other.last

    def _unit_of_change_target(self, number: _Number) -> str | None:
        """ "rose from 4.1 to 4.3 percent": the first figure takes the second one's unit."""
        joint = number.last + 1
        if self.lower(joint) != "to" or not self._changing(number) or not self.spaced(joint):
            return None
        target = self._number(joint + 1)
        if target is None or target.first != joint + 1 or not self.spaced(joint + 1):
            return None
        return self._unit(target, target.last)[0]

    def _changing(self, number: _Number) -> bool:
        """ "rose from 4.1 to 4.3 percent" is a change between two figures, not a range."""
        before = number.first - 1
        if self.lower(before) in ("from", "by"):
            before -= 1  # "rose from 4.1 to 4.3", "fell by 937 to 23,866"
        return self.lower(before) in _CHANGE_VERBS

    # -- units ----------------------------------------------------------------------------

    def _unit(self, number: _Number, last: int) -> tuple[str | None, int]:
        """The unit and the index of the quantity's last token (-1: the figure's own)."""
        if number.percent:
            return "percent", -1
        if number.currency:
            return number.currency, -1
        at = last + 1
        token = self.token(at)
        if token is None:
            return None, -1
        if self.glued(at):
            if token.text == "%" or token.text == "pc":
                return "percent", at
            if token.text in ("C", "F") and not self.glued(at + 1):
                return _DEGREE_SCALES["celsius" if token.text == "C" else "fahrenheit"], at
            if token.text == "°":
                scale = self.token(at + 1)
                if scale is not None and scale.text in ("C", "F") and self.glued(at + 1):
                    name = "celsius" if scale.text == "C" else "fahrenheit"
                    return _DEGREE_SCALES[name], at + 1
                return "degrees", at
            if _glued_unit(token):
                return token.lower, at
            return None, -1
        if not self.spaced(at):
            return None, -1
        return self._unit_words(number, at)

    def _unit_words(self, number: _Number, at: int) -> tuple[str | None, int]:
        """A unit written after the figure: percent, a currency, or the counted noun."""
        token, first, second = self.tokens[at], self.lower(at), self.lower(at + 1)
        if token.text == "%" or first in ("percent", "pc", "pct"):
            return "percent", at
        if first == "per" and second == "cent":
            return "percent", at + 1
        if first in ("percentage", "basis") and second in ("point", "points"):
            return f"{first} points", at + 1
        if first in _DEGREE_SCALES:
            return _DEGREE_SCALES[first], at  # "14.7 Celsius"
        if first in ("degree", "degrees") and second in _DEGREE_SCALES:
            return _DEGREE_SCALES[second], at + 1
        if first == "pounds" and second == "sterling":
            return "GBP", at + 1
        if first in _DOLLAR_COUNTRIES and second in ("dollar", "dollars"):
            return _DOLLAR_COUNTRIES[first], at + 1
        if first in _CURRENCY_WORDS:
            return _CURRENCY_WORDS[first], at
        if token.text in _CODES:
            return ("CNY" if token.text == "RMB" else token.text), at
        if first == "of" and (number.round_plural or number.word):
            at += 2 if self.lower(at + 1) in ("the", "those", "these") else 1
            if number.value == 1 and _superlative(self.lower(at)):
                return None, -1  # "one of the bitterest battles", "one of the worst-hit areas"
            if self._is_figure(at):
                return None, -1  # "six of the seven board members": the whole is a figure
        elif first == "more" and self.spaced(at + 1) and self._head_at(at + 1):
            at += 1  # "33 more people", "dozens more people"
        elif number.round_plural:
            return None, -1
        return self._noun(at)

    def _head_at(self, index: int) -> bool:
        token = self.token(index)
        return token is not None and token.text.islower() and _is_head(token)

    def _noun(self, at: int) -> tuple[str | None, int]:
        """The counted noun with its noun modifiers: "4.8 million artillery shells"."""
        run: list[int] = []
        position = at
        while position < len(self.tokens) and len(run) < 6:
            token = self.tokens[position]
            if token.is_number and self._compound(position) and (self.spaced(position)):
                position += 3  # "152-millimeter": a modifier of what is counted
                continue
            if position > at and not self.spaced(position):
                break
            if not token.is_word or token.lower in _GRAMMAR:
                break
            run.append(position)
            position += 1
        for offset, index in enumerate(run):
            token = self.tokens[index]
            if _is_head(token):
                kept = _noun_modifiers([self.tokens[i] for i in run[:offset]])
                head = _plural(token.lower) if token.text.islower() else token.text
                unit = " ".join([*kept, head])
                if offset and _is_verb_like(self.tokens[run[offset - 1]].lower):
                    # "150 injured people": the text stays the figure, so that what
                    # happened to them ("injured") is read beside it, as with "150 injured".
                    return unit, -1
                return _CURRENCY_WORDS.get(unit, unit), index
            following = self.token(index + 1) if offset + 1 < len(run) else None
            if _is_verb_like(token.lower) and not (following and _is_head(following)):
                break  # "300 killed", but "700 confirmed cases" counts cases
        if run and run[0] == at:
            token = self.tokens[at]
            tag = _noun_tag(token.lower)
            if token.text.islower() and not _is_adjective(token.lower) and tag in (None, "NN"):
                following = self.token(at + 1) if len(run) > 1 else None
                compound = following is not None and following.text.islower()
                if following is not None and compound and _noun_tag(following.lower) == "NN":
                    return f"{token.lower} {_plural(following.lower)}", at + 1  # "board member"
                return _plural(token.lower), at
        return None, -1

    def _compound(self, index: int) -> bool:
        """A "152-millimeter" compound: a figure, a glued hyphen and a glued word."""
        dash, word = self.token(index + 1), self.token(index + 2)
        return (
            dash is not None
            and word is not None
            and dash.text == "-"
            and word.is_word
            and self.glued(index + 1)
            and self.glued(index + 2)
        )


def _glued_unit(token: _Token) -> bool:
    """A unit written straight after a figure: "100km", "3.5pc", "500MW", "30m" (not "4G")."""
    if len(token.text) == 1 or token.lower == "pc":
        return token.text in ("m", "t", "g", "C", "F") or token.text == "pc"
    return token.lower in _GLUED_UNITS


def _superlative(word: str) -> bool:
    head = word.partition("-")[0]
    return head in ("most", "least", "worst", "best") or _noun_tag(head) in ("JJS", "RBS")


def _compound_unit(word: str) -> str | None:
    """The unit of a figure-word compound's word: "day" -> days, "strong" -> people."""
    if word in _COMPOUND_UNITS:
        return _COMPOUND_UNITS[word]
    if word in _UNITS_WORDS or word in _SCALES or word in _DENOMINATORS:
        return None
    if word in _MEASURES or _noun_tag(word) == "NN":
        return _metric(_plural(word))
    return None


def _metric(unit: str) -> str:
    """Metric units by their symbols, as the figures are usually written: "km", "m"."""
    return _METRIC.get(unit, unit)


def _hyphen_number(word: str) -> int | None:
    """ "twenty-five" -> 25, "one-thousand" -> 1000; None for "three-day"."""
    head, _, tail = word.partition("-")
    if not tail or head not in _UNITS_WORDS:
        return None
    if tail in _SCALES:
        return _UNITS_WORDS[head] * _SCALES[tail]
    tens, ones = _UNITS_WORDS[head], _UNITS_WORDS.get(tail, 0)
    if tens >= 20 and tens % 10 == 0 and 0 < ones < 10:
        return tens + ones
    return None


def _is_head(token: _Token) -> bool:
    """A word that can be what is counted: a plural, a measure, an invariable plural."""
    word = token.lower
    if word in _COUNTED or word in _MEASURES or word in _CURRENCY_WORDS:
        return True
    if _is_adjective(word):
        return False
    return len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s"))


def _is_adjective(word: str) -> bool:
    if word in _ING_NOUNS:
        return False
    return "-" in word or word in _ADJECTIVES or word.endswith(_ADJECTIVE_SUFFIXES)


def _is_verb_like(word: str) -> bool:
    return word.endswith(("ed", "ing", "ly")) and word not in _ING_NOUNS


def _noun_modifiers(tokens: list[_Token]) -> list[str]:
    """Up to two noun modifiers right before the counted noun ("sea", "artillery");
    adjectives, names and anything before them are dropped."""
    kept: list[str] = []
    for token in reversed(tokens):
        if len(kept) == 2 or not token.text.islower():
            break
        if _is_adjective(token.lower) and token.lower not in ("cubic", "square"):
            break
        kept.insert(0, token.lower)
    return kept


_IRREGULAR = {"person": "people", "man": "men", "woman": "women", "child": "children"}
_ABBREVIATIONS = _GLUED_UNITS | wordset("m t g")


def _plural(word: str) -> str:
    """The plural a unit is reported in: "container" -> "containers", "km" stays "km"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _ABBREVIATIONS or word in _COUNTED or word in _CURRENCY_WORDS:
        return word
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word
    if word.endswith(("ss", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 3.50E+6 -> "3500000"."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


_SENTENCE_ENDS = frozenset(".!?")
_CLOSING = frozenset("\"'”’)")
_ABBREVIATED = wordset(
    """mr mrs ms dr st gov sen rep gen col lt sgt capt prof inc co corp ltd jr sr vs no
    jan feb mar apr jun jul aug sep sept oct nov dec"""
)
_LINKS = wordset("from to and or versus vs compared with against")
_CONTRASTS = wordset("but whereas although though")
_CHANGE_NOUNS = wordset("gains growth losses cuts")


class _Units:
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
            if lowers[i] == "of"
            and lowers[i - 1] in ("number", "numbers", "total")
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
            if unit in _PEOPLE_UNITS:
                unit = "people"
            elif unit in _METRIC:
                unit = _METRIC[unit]
            elif unit == "percent":
                unit = self._percent_or_points(item)
            elif unit == "degrees":
                unit = self._degree_scale(position)
            if self._magnitude(item, unit):
                unit = "magnitude"
            if unit is None or unit in _ANAPHORIC:
                unit = self._inferred(position) or (None if unit is None else "people")
            if unit is not None and not item.kept:
                item.kept = True
            if unit != quantity.unit:
                item.quantity = replace(quantity, unit=unit)

    # -- what the figure itself says -------------------------------------------------------

    def _percent_or_points(self, item: _Found) -> str:
        """ "35.7% Coalition (down 5.7%)", "a 3.7% swing", "now at 30 percent, a three
        percent rise": a change of a share is in percentage points."""
        s = self.scanner
        before, after = s.lower(item.first - 1), s.lower(item.last + 1)
        if after in ("swing", "swings"):
            return "percentage points"
        if before not in ("up", "down") and after not in _POINT_CHANGES:
            return "percent"
        start = item.first - 1
        while start >= 0 and self.sentence[start] == self.sentence[item.first]:
            owner = self.owner.get(start)
            if owner is not None and self._level(self.found[owner]):
                return "percentage points"
            start -= 1
            if item.first - start > 40:
                break
        return "percent"

    def _level(self, item: _Found) -> bool:
        """A share that is a level ("now at 30 percent"), not a change ("rose 0.1 percent")."""
        s = self.scanner
        before, after = s.lower(item.first - 1), s.lower(item.last + 1)
        if item.quantity.unit not in ("percent", "percentage points"):
            return False
        return not (before in _CHANGE_VERBS or before == "by" or after in _POINT_CHANGES)

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
        if before in _MAGNITUDES:
            return True
        return unit is not None and unit.split()[-1] in _QUAKE_WORDS

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
            return unit if _countable(unit) else None
        token = s.token(at)
        if token is not None and token.text.islower() and _plural_noun(token.lower):
            return _people(token.lower)
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
        for after in range(index + 1, min(index + 5, item.first)):
            token = s.tokens[after]
            if not (token.is_word and token.text.islower()):
                break
            if _plural_noun(token.lower) and _countable(token.lower):
                return _people(token.lower)
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
                if _countable(unit) or (unit is not None and self._linked(other, item)):
                    return unit
                index = other.first - 1
                continue
            word = s.lowers[index]
            if word in _CONTRASTS:
                break  # "..., but 10 have been reported dead": another clause
            if word in _GRAMMAR or (word not in _CLUE_WORDS and not word.endswith("s")):
                index -= 1
                continue  # a quick pass over words that cannot be a counted noun
            token = s.tokens[index]
            if token.is_word and token.text.islower():
                if word in _PEOPLE_NOUNS:
                    return "people"
                if word in _CASUALTY_WORDS and s.lower(index - 1) in ("the", "of"):
                    return "people"  # "the number of injured over 9,000"
                if word in ("toll", "tolls"):
                    return "deaths"
                if word in _CHANGE_NOUNS and _noun_tag(s.lower(index - 1)) == "NN":
                    return _plural(s.lower(index - 1))  # "job gains" count jobs
                if self._counted_noun(index) and not self._aside(index):
                    return _people(word)
            index -= 1
        return None

    def _counted_noun(self, index: int) -> bool:
        """A plural noun that heads its phrase: "police" in "police said", not in "police
        spokesman"."""
        s = self.scanner
        word = s.lower(index)
        if not (_plural_noun(word) and _countable(word)) or word in _ANAPHORIC:
            return False
        following = s.token(index + 1)
        return (
            word not in _COUNTED
            or following is None
            or not (following.text.islower() and _noun_tag(following.lower) in ("NN", "NNS"))
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
        return len(between) <= 3 and all(self.scanner.lower(i) in _LINKS for i in between)

    def _previous_sentence(self, position: int) -> str | None:
        """The unit of the last counted figure of the sentence before: "employers added
        304,000 jobs. ... revised to 222,000" (a figure in digits before a spelled one)."""
        item = self.found[position]
        wanted = self.sentence[item.first] - 1
        digits: str | None = None
        spelled: str | None = None
        for earlier in reversed([self.found[p] for p in self.in_sentence.get(wanted, ())]):
            unit = earlier.quantity.unit
            if not earlier.kept or earlier.compound or not _countable(unit):
                continue
            if earlier.spelled:
                spelled = unit
            else:
                digits = unit  # the first one of the sentence wins: its subject
        return digits or spelled

    def _casualty(self, item: _Found) -> str | None:
        """ "4,279 were hurt", "329 injured": people."""
        for index in range(item.last + 1, item.last + 5):
            if self.scanner.lower(index) in _CASUALTY_WORDS:
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
    if scanner.tokens[at].text in _CLOSING and at > 0:
        at -= 1
    if scanner.tokens[at].text not in _SENTENCE_ENDS:
        return False
    first = following.text[0]
    if not (first.isupper() or first.isdigit() or first in "\"“‘'"):
        return False
    word = scanner.lower(at - 1)
    return not (word in _ABBREVIATED or "." in word or (len(word) == 1 and word.isalpha()))


def _countable(unit: str | None) -> bool:
    """A unit that counts things (not a share, money, time or a measure)."""
    if unit is None or unit in ("percent", "percentage points", "basis points"):
        return False
    if unit in _CODES or unit in _CURRENCY_WORDS.values() or unit == "magnitude":
        return False
    head = unit.split()[-1].lower()
    return head not in _MEASURES and head not in _LONGER_TIMES and not head.startswith("degree")


def _plural_noun(word: str) -> bool:
    """A plural noun by the general English lexicon (Brill's tags), or by its form when
    the lexicon does not have it."""
    if word in _COUNTED or word in _IRREGULAR.values():
        return True
    tag = _noun_tag(word)
    if tag is not None:
        return tag == "NNS"
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s"))


def _people(word: str) -> str:
    return "people" if word in _PEOPLE_UNITS else word


@cache
def word_tags() -> dict[str, str]:
    """Lower-case word -> its most frequent Penn tag in Brill's lexicon (the TextBlob
    wheel's ``en-lexicon.txt``, see ``ledger.extract.features``), read from the lower-case
    entries only: "deaths" is NNS, though "Deaths" (a headline word) is listed first as NNP."""
    tags: dict[str, str] = {}
    try:
        path = metadata.distribution(DISTRIBUTION).locate_file(_TAGS_FILE)
        lines = Path(str(path)).read_text(encoding="utf-8").splitlines()
    except (metadata.PackageNotFoundError, OSError) as error:
        raise ConfigError(f"{_TAGS_FILE}: not readable from the {DISTRIBUTION} wheel") from error
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0].islower() and not line.startswith(";;;"):
            tags.setdefault(fields[0], fields[1])
    return tags


_TAGS_FILE = "textblob/en/en-lexicon.txt"


def _noun_tag(word: str) -> str | None:
    return word_tags().get(word)


# Words the look back stops at though they do not end in "s" (see ``_Units._looking_back``).
_CLUE_WORDS = (
    _COUNTED
    | frozenset(_IRREGULAR.values())
    | _PEOPLE_NOUNS
    | _CASUALTY_WORDS
    | _CHANGE_NOUNS
    | wordset("toll")
)
