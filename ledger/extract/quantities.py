"""Quantities in news text: "approximately 7,000 containers" -> 7000 containers, approximate.

A linear scan over word, number and symbol tokens (no backtracking regex over the input):
figures, number words, fractions, scales, currencies, percentages, bounds and ranges, and
the counted noun. Years, dates, times, ordinals and numbers inside names are left out.
Conventions are documented in docs/extraction.md ("Quantities").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.extract.cues import MONTHS, wordset
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
    (("circa",), "approximate"),
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


def find_quantities(
    text: str, start: int = 0, end: int | None = None, *, skip: Sequence[tuple[int, int]] = ()
) -> list[Quantity]:
    """Quantities in ``text[start:end]``, in order; numbers inside ``skip`` spans (dates) are not."""
    end = len(text) if end is None else end
    tokens = [_Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text, start, end)]
    scanner = _Scanner(text, tokens, skip)
    found: list[Quantity] = []
    index = 0
    while index < len(tokens):
        quantity, index = scanner.quantity_at(index)
        if quantity is not None:
            found.append(quantity)
    return found


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
        """Whether token ``index`` follows the previous one after exactly one space."""
        token, previous = self.token(index), self.token(index - 1)
        if token is None or previous is None:
            return False
        return self.text[previous.end : token.start] in (" ", "\t", "\u00a0")

    # -- one quantity ---------------------------------------------------------------------

    def quantity_at(self, index: int) -> tuple[Quantity | None, int]:
        """The quantity whose text starts at token ``index`` (or None) and the token index
        to go on from: past a figure that is not a quantity (a year, a score), so its parts
        are not read again."""
        if not self._may_start(index):
            return None, index + 1
        bound, marker, begin = self._lead(index)
        if self._after_dash(begin):
            return None, index + 1  # "2022-23", "COVID-19": the tail of something else
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
            return (
                Quantity(
                    value=_plain(number.value),
                    unit="votes",
                    bound=bound or "exact",
                    text=self.text[self.tokens[index].start : self.tokens[tally].end],
                ),
                tally + 1,
            )
        if span is None and self._dash_after(number.last):
            return None, self._past_dashes(number.last)  # "3-2", "555-0100"
        unit, unit_last = self._unit(number, last)
        if unit is None and span is None:
            unit = self._unit_of_change_target(number)
        if self._not_a_quantity(number, span, unit, bound):
            return None, last + 1
        final = max(unit_last, last)
        quantity = Quantity(
            value=_plain(number.value if span is None else span.low),
            unit=unit,
            bound=bound or ("approximate" if number.inexact or number.round_plural else "exact"),
            text=self.text[self.tokens[index].start : self.tokens[final].end],
            high=None if span is None else _plain(span.high),
        )
        return quantity, final + 1

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
        """Years ("in 2024", "2019-2023"), bare number words ("one of the best")."""
        if number.year_like:
            if span is not None:
                return _YEAR.fullmatch(_plain(span.high)) is not None
            distance = unit in _MEASURES and unit not in _TIME_UNITS  # "1850 km"
            return not (number.currency or unit == "percent" or (bound and unit) or distance)
        if number.word and unit is None:
            return number.round_plural or not (number.scaled or number.percent)
        return False

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
            return _Number(scaled, index, last, scaled=True, figure=value)
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
                if not self.lower(index - 2)[:1].isdigit() or not self.glued(index - 1):
                    return False  # "F-16", "Su-27", "mid-2022"
            elif previous.is_word or previous.is_number or previous.text in "/:#+.,":
                return False  # "G7", "24/7", "10:30", "#1", "+44"
        if after is not None and self.glued(index + 1):
            if after.text in (":", "/") or after.lower in ("st", "nd", "rd", "th", "s", "'s"):
                return False  # "10:30", "1st", "1990s"
            if after.text in ("-", "–") and not self._figure_after_dash(index + 1):
                return False  # "152-millimeter", "10-year-old": a modifier
        if previous is not None and previous.is_word and self.spaced(index) and not after_currency:
            name = previous.lower
            if name.rstrip(".") in _MONTH_WORDS or name in ("no", "no.", "number", "nos"):
                return False  # "March 5", "number 10"
            if any(c.isupper() for c in previous.text) and name not in _BEFORE_FIGURE:
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
        return not (token.text.isdigit() and self._bare_neighbour(index))

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
        if word in _ROUND_PLURALS or word == "tens":
            return self._round_plural(index)
        if word == "half" and self.lower(index + 1) == "a" and self.lower(index + 2) in _SCALES:
            value = Decimal(_SCALES[self.lower(index + 2)]) / 2
            return _Number(value, index, index + 2, word=True, scaled=True)
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
        if denominator == 0 or self.lower(last + 1) != "of":
            return None
        if (numerator > 1) != self.lower(last).endswith("s"):
            return None  # "two thirds of" or "a third of", not "two third of"
        share = Decimal(100 * numerator) / Decimal(denominator)
        exact = share == share.quantize(Decimal("0.01"))
        value = share if exact else share.quantize(Decimal("0.1"))
        return _Number(value, index, last, word=True, percent=True, inexact=not exact)

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
        if self.lower(before) == "from":
            before -= 1
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
            if _glued_unit(token):
                return token.lower, at
            return None, -1
        if not self.spaced(at):
            return None, -1
        return self._unit_words(number, at)

    def _unit_words(self, number: _Number, at: int) -> tuple[str | None, int]:
        """A unit written after the figure: percent, a currency, or the counted noun."""
        token, first, second = self.tokens[at], self.lower(at), self.lower(at + 1)
        if token.text == "%" or first in ("percent", "pc"):
            return "percent", at
        if first == "per" and second == "cent":
            return "percent", at + 1
        if first in ("percentage", "basis") and second in ("point", "points"):
            return f"{first} points", at + 1
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
        elif number.round_plural:
            return None, -1
        return self._noun(at)

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
                return _CURRENCY_WORDS.get(unit, unit), index
            if _is_verb_like(token.lower):
                break
        if run and run[0] == at:
            token = self.tokens[at]
            if token.text.islower() and not _is_adjective(token.lower):
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
        return token.text in ("m", "t", "g") or token.text == "pc"
    return token.lower in _GLUED_UNITS


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
        if len(kept) == 2 or not token.text.islower() or _is_adjective(token.lower):
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
