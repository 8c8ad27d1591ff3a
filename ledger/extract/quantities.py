"""Numbers with units, normalized to decimal strings: "approximately 7,000 containers" -> 7000."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from ledger.extract.cues import wordset
from ledger.extract.model import Bound, Quantity

_APPROXIMATORS = (
    "about|approximately|around|roughly|nearly|almost|some|an estimated|estimated|close to|"
    "more than|over|at least|up to|fewer than|less than|upwards of|as many as|as much as"
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100, "a dozen": 12, "dozens": 24, "hundreds": 200,
    "thousands": 2000,
}  # fmt: skip
_SCALES = {
    "hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12,
    "k": 1000, "m": 10**6, "bn": 10**9,
}  # fmt: skip
_CURRENCIES = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP"}
_CURRENCY_WORDS = {"dollars": "USD", "euros": "EUR", "pounds": "GBP", "yuan": "CNY", "yen": "JPY"}
# Words after a number that are grammar, not a unit ("7 of the", "10 to 12").
_NOT_UNITS = wordset(
    """of and or to in on at for the a an per from by with as than that which who whom is are
    was were be been has have had will would could may might can this these those it its
    their his her our percent and-a-half"""
)
_MODIFIERS = wordset("new more additional other extra active young old armed foreign registered")
_MODIFIER_SUFFIXES = ("al", "ive", "ous", "ed", "ing", "ern", "ian", "ese")
_YEAR = re.compile(r"(?:1[89]|20)\d\d")

_QUANTITY = re.compile(
    r"(?<![\w.,:$€£-])"
    r"(?P<approx>(?i:" + _APPROXIMATORS + r")\s+)?"
    r"(?P<currency>US\$|[$€£])?\s?"
    r"(?:(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)|(?P<word>(?i:"
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")))"
    r"(?:(?P<abbr>bn|k|m)\b|(?![\w:]|[.,]\d)"
    r"(?:\s+(?P<scale>hundred|thousand|million|billion|trillion)\b)?)"
    r"(?:\s*(?P<percent>%|percent\b|per cent\b|percentage points?\b)"
    r"|\s+(?P<unit>[a-z][a-z-]*[a-z]|[a-z])(?:\s+(?P<noun>[a-z]+)\b)?)?"
)


def find_quantities(
    text: str, start: int = 0, end: int | None = None, *, skip: Sequence[tuple[int, int]] = ()
) -> list[Quantity]:
    """Quantities in ``text[start:end]``, in order; numbers inside ``skip`` spans (dates) are not."""
    end = len(text) if end is None else end
    found: list[Quantity] = []
    for match in _QUANTITY.finditer(text, start, end):
        number_start = match.start("number") if match["number"] else match.start("word")
        if any(s <= number_start < e for s, e in skip):
            continue
        quantity = _quantity(match, text)
        if quantity is not None:
            found.append(quantity)
    return found


def _quantity(match: re.Match[str], text: str) -> Quantity | None:
    """Build one quantity, or None for bare years and unitless number words ("one of")."""
    unit, unit_end = _unit(match)
    if match["word"] and not (match["scale"] or unit or match["currency"]):
        return None
    if match["number"] and _YEAR.fullmatch(match["number"]) and not (unit or match["currency"]):
        return None
    value = _value(match)
    return Quantity(
        value=_plain(value),
        unit=unit,
        bound=_bound(match["approx"]),
        text=text[match.start() : unit_end],
    )


_BOUNDS: dict[str, Bound] = {
    "more than": "more_than", "over": "more_than", "upwards of": "more_than",
    "at least": "at_least", "as many as": "at_most", "as much as": "at_most",
    "up to": "at_most", "fewer than": "less_than", "less than": "less_than",
}  # fmt: skip


def _bound(approximator: str | None) -> Bound:
    """The bound a word before the number sets: "more than" -> more_than, "about" -> approximate."""
    if approximator is None:
        return "exact"
    return _BOUNDS.get(" ".join(approximator.lower().split()), "approximate")


def _unit(match: re.Match[str]) -> tuple[str | None, int]:
    """The normalized unit and where the quantity's text ends."""
    if match["currency"]:
        return _CURRENCIES[match["currency"]], _number_end(match)
    if match["percent"]:
        kind = "percentage points" if "point" in match["percent"] else "percent"
        return kind, match.end("percent")
    word, noun = match["unit"], match["noun"]
    if word and noun and _is_modifier(word) and _is_unit(noun):
        # "450,000 active-duty soldiers": the unit is the noun, not its modifier.
        return _CURRENCY_WORDS.get(noun, noun), match.end("noun")
    if word and _is_unit(word):
        return _CURRENCY_WORDS.get(word, word), match.end("unit")
    return None, _number_end(match)


def _is_modifier(word: str) -> bool:
    """A word that likely modifies the counted noun rather than naming it."""
    return "-" in word or word in _MODIFIERS or word.endswith(_MODIFIER_SUFFIXES)


def _is_unit(word: str) -> bool:
    """A word that can be what is counted (not grammar, not a verb form such as "killed")."""
    return word not in _NOT_UNITS and not word.endswith(("ed", "ing", "ly"))


def _number_end(match: re.Match[str]) -> int:
    """End of the number together with its scale word, if any."""
    for group in ("abbr", "scale", "number", "word"):
        if match[group]:
            return match.end(group)
    return match.end()


def _value(match: re.Match[str]) -> Decimal:
    """The exact numeric value, scale applied."""
    if match["number"]:
        value = Decimal(match["number"].replace(",", ""))
    else:
        value = Decimal(_NUMBER_WORDS[match["word"].lower()])
    scale = match["scale"] or match["abbr"]
    return value * _SCALES[scale] if scale else value


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 3.50E+6 -> "3500000"."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
