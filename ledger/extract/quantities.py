"""Quantities in news text: "approximately 7,000 containers" -> 7000 containers, approximate.

A linear scan over word, number and symbol tokens (no backtracking regex over the input):
figures, number words, fractions, scales, currencies, percentages, bounds and ranges,
figure-word compounds, and the counted noun. Years, dates, times, ordinals, ages and
numbers inside names are left out. A figure whose noun the text left out takes it from
the text around it (``quantity_context``); the word lists are in ``quantity_words``.
Conventions are documented in docs/extraction.md ("Quantities").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.extract.cues import MONTHS, wordset
from ledger.extract.model import Bound, Quantity
from ledger.extract.quantity_context import Units
from ledger.extract.quantity_words import (
    ANAPHORIC,
    BEFORE_FIGURE,
    BOUND_BY_FIRST,
    CASUALTY_WORDS,
    CHANGE_VERBS,
    CODES,
    COPULAS,
    COUNTED,
    CURRENCY_WORDS,
    DEGREE_SCALES,
    DENOMINATORS,
    DOLLAR_COUNTRIES,
    DOLLAR_PREFIXES,
    ELIDED_AFTER,
    FEW_OF,
    GLUED_SCALES,
    GLUED_UNITS,
    GRAMMAR,
    MAGNITUDES,
    MEASURES,
    MONTH_WORDS,
    MOVES_UP,
    NOT_COUNTING,
    ORDINAL_PARTS,
    PHRASAL,
    ROUND_PLURALS,
    SCALES,
    STARTERS,
    SYMBOLS,
    TALLY_CUES,
    TIME_UNITS,
    TIMES,
    UNITS_WORDS,
    compound_unit,
    hyphen_number,
    is_adjective,
    is_verb_like,
    noun_tag,
    plural,
    superlative,
)

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
    total was revised to 222,000" -> jobs); see ``quantity_context.Units``."""
    end = len(text) if end is None else end
    window = [_Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text, start, end)]
    context: list[_Token] = []
    scanner, found = _scan(text, context, window, skip)
    if start > 0 and any(_wants_context(item) for item in found):
        before = _context_start(text, start)
        context = [_Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text, before, start)]
        scanner, found = _scan(text, context, window, skip)
    Units(scanner, found).resolve()
    return [item.quantity for item in found if item.first >= len(context) and item.kept]


def _scan(
    text: str, context: list[_Token], window: list[_Token], skip: Sequence[tuple[int, int]]
) -> tuple[_Scanner, list[_Found]]:
    """The quantities read from the context's and the window's tokens, units as written."""
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
    return scanner, found


def _wants_context(item: _Found) -> bool:
    """Whether a figure's unit may depend on the text before the window: none of its own,
    "others", bare "degrees", or a percent that may be a change of a share."""
    unit = item.quantity.unit
    return not item.kept or unit is None or unit in ANAPHORIC or unit in _NEAR_UNITS


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
_RATE_PERIODS = frozenset(("day", "week", "month", "year", "hour"))
# Units that the figures before a window may change: "degrees" (Celsius?), a percent or
# points after a share (percentage points?).
_NEAR_UNITS = frozenset(("degrees", "percent", "points"))


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
        self.against: dict[int, _Number] = {}  # the second figure of a tally, by its index

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
        if index in self.against:
            against = self.against.pop(index)
            quantity = Quantity(
                value=_plain(against.value),
                unit="votes",
                bound="exact",
                text=self.text[self.tokens[index].start : self.tokens[against.last].end],
            )
            return _Found(quantity, index, index, against.last), against.last + 1
        if not self._may_start(index):
            return None, index + 1
        bound, marker, begin = self._lead(index)
        if self._after_dash(begin) and self.lower(begin - 2) not in MAGNITUDES:
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
                bound="exact" if bound is None or self.lower(index) in TALLY_CUES else bound,
                text=self.text[self.tokens[index].start : self.tokens[tally].end],
            )
            second = self._number(number.last + 2)
            if second is not None:
                self.against[second.first] = second  # "50-48": the votes against, next
                return _Found(quantity, index, begin, tally), second.first
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
            if head not in UNITS_WORDS or not tail or hyphen_number(token.lower) is not None:
                return None
            value, last = Decimal(UNITS_WORDS[head]), index
        word, _, rest = tail.partition("-")
        if rest == "old" and word in TIME_UNITS | wordset("year month week day"):
            return (value if value >= 130 else None), plural(word), last
        unit = compound_unit(word)
        if unit is None or rest or value == 1:
            return None
        return value, unit, last

    def _tentative(self, number: _Number, span: _Range | None, unit: str | None) -> bool:
        """A spelled-out count or round plural with no unit of its own, "six wounded and one
        was captured", "scores injured", "hundreds more": a quantity only if its unit can be
        told from what surrounds it (``quantity_context.Units``)."""
        if unit is not None or span is not None or not number.word or number.percent:
            return False
        if number.scaled and not number.round_plural:
            return False
        following, before = self.lower(number.last + 1), self.lower(number.first - 1)
        if number.first > 0 and before in NOT_COUNTING:
            return False
        if following in ("of", "among"):  # "six of the seven members", not "one of the best"
            if number.value == 1:
                return False  # "one of 15 tests" says which, not how many
            at = number.last + 2
            if self.lower(at) == "them":
                return True  # "only five of them fell ill": as many as the noun before
            at += self.lower(at) in ("the", "these", "those", "its", "their")
            if self.lower(at) in CASUALTY_WORDS and self.lower(at - 1) == "the":
                return True  # "four of the deceased", "three of the injured"
            return self._is_figure(at)
        ends = following in (",", ";", ".", ")")
        if number.round_plural and ends:
            return True  # "the toll could reach thousands, an official said"
        return (
            following in ELIDED_AFTER
            or following in CASUALTY_WORDS
            or before in CASUALTY_WORDS  # "killed five troops and wounded four"
            or before in ("another", "other", "up", "down")  # "another two hit", "up eight"
            or (ends and before in ("to", "at", "of"))  # "rose to seven.", "a majority of three."
            or (before == "from" and following == "to")  # "had increased from one to four"
            or (before == "to" and self.lower(number.first - 3) == "from")
        )

    def _may_start(self, index: int) -> bool:
        """A cheap test that lets most words through unread."""
        token = self.tokens[index]
        if token.is_number or token.text in SYMBOLS or token.text in CODES:
            return True
        word = self.lowers[index]
        return word in STARTERS or word.partition("-")[0] in UNITS_WORDS

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
            distance = unit in MEASURES and unit not in TIME_UNITS  # "1850 km"
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
            and after in (",", ";", ".", ")", "")  # "Leon Oliwkowicz, 80; Anna Ortiz, 46."
            and name is not None
            and name.text[0].isupper()
            and (after == "," or name.lower not in MONTHS)  # not "sales in March, 40."
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
        for phrase, kind in BOUND_BY_FIRST.get(word, ()):
            after = index + len(phrase)
            if all(self.lower(index + k) == part for k, part in enumerate(phrase)):
                if not self._starts_figure(after):
                    continue
                if phrase == ("over",) and self.lower(index - 1) in PHRASAL:
                    continue
                if phrase == ("up", "to") and self.lower(index - 1) in MOVES_UP:
                    continue  # "edged up to 4 percent": the level reached, not a ceiling
                return kind, None, after
        return None, None, index

    def _starts_figure(self, index: int) -> bool:
        """Whether a figure (or its currency) can start at ``index``, right after a bound."""
        token = self.token(index)
        if token is None or not (self.spaced(index) or self.lower(index - 1) == "~"):
            return False
        if token.is_number or token.text in SYMBOLS or token.text in CODES:
            return True
        word = token.lower
        return (
            word in UNITS_WORDS
            or word in ROUND_PLURALS
            or word in ("a", "an", "half", "dozen", "tens", "rs", "rs.")
            or word in DOLLAR_PREFIXES
            or hyphen_number(word) is not None
            or word.partition("-")[0] in UNITS_WORDS  # "near four-year"
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
        if token.text in SYMBOLS and self._figure_follows(index + 1):
            return SYMBOLS[token.text], index + 1
        if token.text in CODES and self.spaced(index + 1) and self._is_figure(index + 1):
            return ("CNY" if token.text == "RMB" else token.text), index + 1
        if token.lower in ("rs", "rs.") and self._figure_follows(index + 1):
            return "INR", index + 1
        dollar = self.token(index + 1)
        if (
            token.lower in DOLLAR_PREFIXES
            and token.text.isupper()
            and dollar is not None
            and dollar.text == "$"
            and self.glued(index + 1)
            and self._figure_follows(index + 2)
        ):
            return DOLLAR_PREFIXES[token.lower], index + 2
        return None, index

    def _figure_follows(self, index: int) -> bool:
        return (self.glued(index) or self.spaced(index)) and self._is_figure(index)

    def _is_figure(self, index: int) -> bool:
        token = self.token(index)
        return token is not None and (token.is_number or token.lower in UNITS_WORDS)

    def _figure(self, index: int, after_currency: bool) -> _Number | None:
        """Digits with a glued or following scale: "7,000", "1.5 million", "$1.2bn"."""
        token = self.tokens[index]
        if not _FIGURE.fullmatch(token.text) or not self._stands_alone(index, after_currency):
            return None
        value = Decimal(token.text.replace(",", ""))
        after = self.token(index + 1)
        if after is not None and after.is_word and self.glued(index + 1):
            scale = GLUED_SCALES.get(after.lower)
            if after.lower == "m" and after_currency:
                scale = 10**6  # "£30m"; without a currency "30m" is metres
            if scale is not None:
                return _Number(value * scale, index, index + 1, scaled=True, figure=value)
            if _glued_unit(after):
                return _Number(value, index, index)
            return None  # "4G", "1e3", "3D"
        if after is not None and after.lower in SCALES and self.spaced(index + 1):
            scaled, last = value * SCALES[after.lower], index + 1
            if after.lower in ("lakh", "thousand") and self.lower(last + 1) == "crore":
                scaled = scaled * SCALES["crore"]  # "11.11 lakh crore"
                last += 1
            rest = self.token(last + 1)
            if (
                rest is not None
                and self.spaced(last + 1)
                and _FIGURE.fullmatch(rest.text)
                and "," in rest.text
                and value == value.to_integral_value()
                and Decimal(rest.text.replace(",", "")) < SCALES[after.lower]
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
                if self.lower(index - 2) in MAGNITUDES:
                    pass  # "a magnitude-7.8 earthquake"
                elif self.lower(index - 2) == "%" and self.lower(index - 3)[:1].isdigit():
                    pass  # "2%-4%": the top of a range
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
            if name.rstrip(".") in MONTH_WORDS or name in ("no", "no.", "number", "nos"):
                return False  # "March 5", "number 10"
            named = any(c.isupper() for c in previous.text) and name not in BEFORE_FIGURE
            if named and not self._counted_after(index):
                return False  # "Apollo 11", "Article 5", "Windows 11"
        if previous is not None and previous.text == "." and self.spaced(index):
            name = self.lower(index - 2)
            if name == "no" or name in MONTH_WORDS:
                return False  # "No. 10", "Sept. 12"
        if after is not None and self.spaced(index + 1):
            if after.lower.rstrip(".") in MONTH_WORDS or after.lower in TIMES:
                return False  # "5 March", "3 p.m."
            if after.lower == "of" and self.lower(index + 2).rstrip(".") in MONTH_WORDS:
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
        return large and noun_tag(after.lower) == "NNS"

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
        if word in ROUND_PLURALS or word == "tens":
            return self._round_plural(index)
        if word == "half" and self.lower(index + 1) == "a" and self.lower(index + 2) in SCALES:
            value = Decimal(SCALES[self.lower(index + 2)]) / 2
            return _Number(value, index, index + 2, word=True, scaled=True)
        if word == "a" and self.lower(index + 1) == "couple" and self.lower(index + 2) == "of":
            return _Number(Decimal(2), index, index + 1, word=True, inexact=True)  # "a couple of"
        if word == "a" and self.lower(index + 1) == "few" and self.lower(index + 2) in FEW_OF:
            few = Decimal(2 * FEW_OF[self.lower(index + 2)])  # "a few dozen": as "dozens", 24
            return _Number(few, index, index + 2, word=True, scaled=True, inexact=True)
        if word in ("a", "an"):
            following = self.lower(index + 1)
            if not (following == "dozen" or following in SCALES) or not self.spaced(index + 1):
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
            compound = hyphen_number(word)
            if compound is not None:
                current = (current or Decimal(0)) + compound
                scaled = scaled or compound >= 100
            elif word in UNITS_WORDS:
                current = (current or Decimal(0)) + UNITS_WORDS[word]
            elif word in ("dozen", "hundred"):
                current = (current or Decimal(1)) * (12 if word == "dozen" else 100)
                scaled = True
            elif word in SCALES and current is not None:
                total, current, scaled = total + current * SCALES[word], Decimal(0), True
            elif word == "and" and self.lower(last) == "hundred":
                if self.lower(position + 1) not in UNITS_WORDS:
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
        return following in ("of", "more") or following in CASUALTY_WORDS

    def _round_plural(self, index: int) -> _Number | None:
        """ "dozens of", "hundreds of thousands of", "tens of millions of": approximate,
        valued at twice the round number."""
        word, following, larger = self.lower(index), self.lower(index + 1), self.lower(index + 2)
        if following == "of" and larger in ROUND_PLURALS and word in ("tens", "hundreds"):
            value = (10 if word == "tens" else 100) * 2 * ROUND_PLURALS[larger]
            return _Number(Decimal(value), index, index + 2, word=True, round_plural=True)
        if word == "tens":
            return None
        value = 2 * ROUND_PLURALS[word]
        return _Number(Decimal(value), index, index, word=True, round_plural=True)

    def _fraction(self, index: int) -> _Number | None:
        """ "a third of", "two-thirds of", "half of" -> a share in percent."""
        word = self.lower(index)
        head, _, tail = word.partition("-")
        if tail and head in UNITS_WORDS and tail in DENOMINATORS:
            numerator, denominator, last = UNITS_WORDS[head], DENOMINATORS[tail], index
        elif word == "half":
            numerator, denominator, last = 1, 2, index
        elif (word in ("a", "an") or word in UNITS_WORDS) and self.spaced(index + 1):
            numerator = 1 if word in ("a", "an") else UNITS_WORDS[word]
            denominator = DENOMINATORS.get(self.lower(index + 1), 0)
            last = index + 1
        else:
            return None
        if denominator == 0:
            return None
        part = self._part_of_a_unit(numerator, denominator, index, last)
        if part is not None:
            return part
        if self.lower(last + 1) != "of" and not (word == "half" and self.lower(last + 1) == "the"):
            return None  # a share needs its "of" ("half the size" has it implied)
        if self.lower(index - 1) in ORDINAL_PARTS:
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
            measure in SCALES
            or measure == "dozen"
            or not (measure in ("percentage", "basis", "point") or measure in MEASURES)
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
        if self.lower(whole.last + 1) in MEASURES:
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
        if (
            self.lower(joint) == "%"
            and self.glued(joint)
            and self.lower(joint + 1) in ("-", "–")
            and self.glued(joint + 1)
        ):
            joint += 1  # "2%-4%"
        elif marker is not None and self.lower(joint) in ("percent", "%") and not number.currency:
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
        if self.lower(before) in COPULAS:
            before -= 1
        if self.lower(before) not in TALLY_CUES:
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
        if self.lower(before) == "by" and self._to_a_level(number):
            return True  # "fell in August by 937 to 23,866": by an amount to a level
        if self.lower(before) == "from":
            before -= 1  # "rose from 4.1 to 4.3"
        return self.lower(before) in CHANGE_VERBS

    def _to_a_level(self, number: _Number) -> bool:
        """After "by", whether "to" names the level reached, not the top of a range: a level
        is many times the change ("by 937 to 23,866"); a range's ends are close ("higher by
        5 to 15 cents", "by 2 to 3 points")."""
        target = self._number(number.last + 2)
        if target is None or self.lower(number.last + 1) != "to":
            return False
        return target.value >= 5 * number.value

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
                return DEGREE_SCALES["celsius" if token.text == "C" else "fahrenheit"], at
            if token.text == "°":
                scale = self.token(at + 1)
                if scale is not None and scale.text in ("C", "F") and self.glued(at + 1):
                    name = "celsius" if scale.text == "C" else "fahrenheit"
                    return DEGREE_SCALES[name], at + 1
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
        if first in DEGREE_SCALES:
            return DEGREE_SCALES[first], at  # "14.7 Celsius"
        if first in ("degree", "degrees") and second in DEGREE_SCALES:
            return DEGREE_SCALES[second], at + 1
        if first == "pounds" and second == "sterling":
            return "GBP", at + 1
        if first in DOLLAR_COUNTRIES and second in ("dollar", "dollars"):
            return DOLLAR_COUNTRIES[first], at + 1
        if first in CURRENCY_WORDS:
            return CURRENCY_WORDS[first], at
        if token.text in CODES:
            return ("CNY" if token.text == "RMB" else token.text), at
        if first == "of" and (number.round_plural or number.word):
            at += 2 if self.lower(at + 1) in ("the", "those", "these") else 1
            if number.value == 1 and superlative(self.lower(at)):
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
            if token.lower == "of" and run and self._inside_a_name(position):
                position += 1  # "151 House of Representatives seats"
                continue
            if not token.is_word or token.lower in GRAMMAR:
                break
            run.append(position)
            position += 1
        for offset, index in enumerate(run):
            token = self.tokens[index]
            if _is_head(token) and not token.text.islower():
                later = [self.tokens[i] for i in run[offset + 1 :]]
                if any(t.text.islower() and _is_head(t) for t in later):
                    continue  # "151 House of Representatives seats" counts seats
            if _is_head(token):
                kept = _noun_modifiers([self.tokens[i] for i in run[:offset]])
                head = plural(token.lower) if token.text.islower() else token.text
                unit = " ".join([*kept, head])
                if offset and is_verb_like(self.tokens[run[offset - 1]].lower):
                    # "150 injured people": the text stays the figure, so that what
                    # happened to them ("injured") is read beside it, as with "150 injured".
                    return unit, -1
                unit, index = self._and_more(unit, index)
                return CURRENCY_WORDS.get(unit, unit), index
            following = self.token(index + 1) if offset + 1 < len(run) else None
            verb = is_verb_like(token.lower) and token.text.islower()  # not "Assembly"
            if verb and not (following and _is_head(following)):
                break  # "300 killed", but "700 confirmed cases" counts cases
        if run and run[0] == at:
            token = self.tokens[at]
            tag = noun_tag(token.lower)
            if token.text.islower() and not is_adjective(token.lower) and tag in (None, "NN"):
                following = self.token(at + 1) if len(run) > 1 else None
                compound = following is not None and following.text.islower()
                if following is not None and compound and noun_tag(following.lower) == "NN":
                    return f"{token.lower} {plural(following.lower)}", at + 1  # "board member"
                return plural(token.lower), at
        return None, -1

    def _inside_a_name(self, index: int) -> bool:
        before, after = self.token(index - 1), self.token(index + 1)
        return (
            before is not None
            and after is not None
            and before.text[0].isupper()
            and after.text[0].isupper()
            and self.spaced(index + 1)
        )

    def _and_more(self, unit: str, index: int) -> tuple[str, int]:
        """What the counted noun goes on with: "1.2 million barrels a day" (a rate, `barrels
        per day`), "seven cities and prefectures" (two kinds counted together)."""
        link, word = self.lower(index + 1), self.token(index + 2)
        if word is None or not (self.spaced(index + 1) and self.spaced(index + 2)):
            return unit, index
        if link in ("a", "per") and word.lower in _RATE_PERIODS and unit not in CURRENCY_WORDS:
            return f"{unit} per {word.lower}", index + 2
        if (
            link == "and"
            and word.text.islower()
            and noun_tag(word.lower) == "NNS"
            and unit.islower()
            and not (noun_tag(self.lower(index + 3)) or "").startswith("VB")
        ):
            return f"{unit} and {word.lower}", index + 2
        return unit, index

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
    return token.lower in GLUED_UNITS


def _is_head(token: _Token) -> bool:
    """A word that can be what is counted: a plural, a measure, an invariable plural."""
    word = token.lower
    if word in COUNTED or word in MEASURES or word in CURRENCY_WORDS:
        return True
    last = word.rpartition("-")[2]
    if last != word and (last in MEASURES or last == "years"):
        return True  # "49 light-years"
    if is_adjective(word):
        return False
    return len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s"))


def _noun_modifiers(tokens: list[_Token]) -> list[str]:
    """Up to two noun modifiers right before the counted noun ("sea", "artillery");
    adjectives, names and anything before them are dropped."""
    kept: list[str] = []
    for token in reversed(tokens):
        if len(kept) == 2 or not token.text.islower():
            break
        if is_adjective(token.lower) and token.lower not in ("cubic", "square"):
            break
        kept.insert(0, token.lower)
    return kept


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 3.50E+6 -> "3500000"."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
