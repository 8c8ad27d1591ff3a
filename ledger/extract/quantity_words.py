"""The words quantities are read with: bound phrases, number words, scales, currencies,
counted nouns, measures and the cues of a unit left out, with the word forms of units
(plurals, symbols) and Brill's part-of-speech lexicon (the TextBlob wheel's
``en-lexicon.txt``) that says which words are plural nouns. Used by
``ledger.extract.quantities`` (the scan) and ``ledger.extract.quantity_context`` (units
from context)."""

from __future__ import annotations

from ledger.extract.cues import MONTHS, wordset
from ledger.extract.lexicon import lowercase_tags
from ledger.extract.model import Bound

BOUND_PHRASES: tuple[tuple[tuple[str, ...], Bound], ...] = (
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


BOUND_BY_FIRST: dict[str, list[tuple[tuple[str, ...], Bound]]] = {}


for _phrase, _kind in BOUND_PHRASES:
    BOUND_BY_FIRST.setdefault(_phrase[0], []).append((_phrase, _kind))


# "took over 30 towns": here "over" is part of the verb, not a bound.
PHRASAL = wordset("take takes took taken taking hand hands handed handing turn turned turns")


UNITS_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip


SCALES = {
    "hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12,
    "crore": 10**7, "lakh": 10**5,
}  # fmt: skip


# Letters written straight after a figure that scale it: "$1.2bn", "£30m", "5k".
GLUED_SCALES = {"bn": 10**9, "b": 10**9, "tn": 10**12, "trn": 10**12, "mn": 10**6, "k": 1000}


GLUED_UNITS = wordset("km kg mm cm mph kph ft lb lbs mw gw kw mwh gwh twh bpd")


# A plural of round numbers is approximate, valued at twice the round number: "dozens of"
# -> 24, "hundreds of" -> 200, "tens of thousands of" -> 20,000.
ROUND_PLURALS = {
    "dozens": 12, "hundreds": 100, "thousands": 1000, "millions": 10**6, "billions": 10**9,
    "scores": 20,
}  # fmt: skip


DENOMINATORS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
    "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "seventh": 7, "sevenths": 7,
    "eighth": 8, "eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10, "tenths": 10,
}  # fmt: skip


SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB"}


DOLLAR_PREFIXES = {"us": "USD", "a": "AUD", "c": "CAD", "hk": "HKD", "nz": "NZD", "s": "SGD"}


CODES = wordset("USD EUR GBP JPY CNY RMB INR KRW RUB CHF AUD CAD HKD UAH")


CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "yen": "JPY",
    "yuan": "CNY", "renminbi": "CNY", "won": "KRW", "rupee": "INR", "rupees": "INR",
    "ruble": "RUB", "rubles": "RUB", "rouble": "RUB", "roubles": "RUB", "hryvnia": "UAH",
    "hryvnias": "UAH", "franc": "CHF", "francs": "CHF", "lira": "TRY", "rand": "ZAR",
    "shekel": "ILS", "shekels": "ILS", "riyal": "SAR", "riyals": "SAR", "naira": "NGN",
}  # fmt: skip


DOLLAR_COUNTRIES = {"canadian": "CAD", "australian": "AUD", "singapore": "SGD", "us": "USD"}


# Words after a figure that are grammar, not what is counted ("7 of the", "10 to 12").
GRAMMAR = wordset(
    """of and or but nor to in on at for the a an per from by with as than that which who whom
    whose is are was were be been being has have had will would could may might can should
    must shall do does did this these those it its their his her our your my not no into onto
    over under about after before since during while when where more most less least each
    every any all such only also still even just very so up down out off there here then now
    ago last next past against between among across through via if because percent cent
    them they we you us him he she me i"""
)


# Adjectives that modify the counted noun ("450,000 active-duty soldiers" counts soldiers).
ADJECTIVES = wordset(
    """new more additional other extra active young old armed foreign registered nuclear
    military civilian local total further many several major small large big high low key
    top main full public private global national international domestic senior junior
    elderly injured wounded dead missing displaced unemployed former current previous
    potential possible separate different various same first second third"""
)


ADJECTIVE_SUFFIXES = (
    "al", "ive", "ous", "ic", "ful", "less", "able", "ible", "ary", "ese", "ian", "ern", "ed",
    "ing", "est", "ish", "ly",
)  # fmt: skip


ING_NOUNS = wordset("shipping housing training fishing mining building banking polling funding")


COUNTED = wordset(
    """people police personnel staff troops cattle livestock aircraft sheep fish deer crew
    men women children feet teeth mice geese offspring"""
)


MEASURES = wordset(
    """km kilometre kilometer kilometres kilometers mile miles metre meter metres meters kg
    kilogram kilograms tonne tonnes ton tons barrel barrels litre liter litres liters gallon
    gallons hectare hectares acre acres mph kph degree degrees ft foot feet inch inches hour
    hours day days week weeks month months year years minute minutes second seconds mw gw
    kw mwh gwh twh bpd pound pounds ounce ounces"""
)


TIME_UNITS = wordset("hour hours day days week weeks month months year years minute minutes")


TIMES = wordset("am pm a.m p.m o'clock gmt utc bst est edt cet noon midnight")


CHANGE_VERBS = wordset(
    """rose rise rises rising risen fell fall falls falling fallen increased increase increases
    decreased decrease decreases climbed climb dropped drop grew grow grown jumped jump surged
    soared slipped declined plunged tumbled slumped cut raised lowered reduced up down revised
    went moved edged ticked doubled boosted lifted eased shrank widened narrowed"""
)


MONTH_WORDS = frozenset(MONTHS) | wordset("jan feb mar apr jun jul aug sep sept oct nov dec")


# Capitalised words that may stand before a figure without making it part of a name.
MOVES_UP = CHANGE_VERBS | wordset("inched inch inches crept creep nudged ticks edges")


COPULAS = wordset("was is were are of by")


TALLY_CUES = wordset(
    """vote votes voted tally count confirmed approved passed rejected defeated adopted
    ratified margin"""
)


BEFORE_FIGURE = GRAMMAR | wordset(
    """about around approximately roughly nearly almost some estimated only just another
    exactly fewer over under below above those these with"""
)


# After a spelled-out figure with no noun, words that show the noun was left out because
# the sentence already gave it: "six wounded", "one was captured", "hundreds more".
ELIDED_AFTER = wordset("were was are have had more others ( )")


CASUALTY_WORDS = wordset(
    """killed dead deceased died injured wounded hurt missing captured arrested detained hospitalised
    hospitalized evacuated rescued displaced trapped abducted kidnapped"""
)


NOT_COUNTING = wordset("the no any every each which whichever this that")


# Nouns that stand for a count of people: "the death toll rose to 25", "a population of 9,000".
PEOPLE_NOUNS = wordset("population populations headcount")


PEOPLE_UNITS = wordset("persons individuals")


# Plural nouns that point back at something else ("six others") or count nothing.
ANAPHORIC = wordset("others ones them data news")


LONGER_TIMES = wordset("decade decades century centuries")


QUAKE_WORDS = wordset("quake quakes earthquake earthquakes tremor tremors aftershock aftershocks")


POINT_CHANGES = wordset("swing swings rise increase drop fall decline gain jump")


DEGREE_SCALES = {"celsius": "degrees Celsius", "fahrenheit": "degrees Fahrenheit"}


MAGNITUDES = wordset("magnitude magnitudes")


ORDINAL_PARTS = wordset("first second third fourth final last latter other")


FEW_OF = {"dozen": 12, "hundred": 100, "thousand": 1000, "million": 10**6}


# Words of a figure-word compound that are not plain nouns: "a 60-strong team" (people).
COMPOUND_UNITS = {
    "strong": "people", "bps": "basis points", "bp": "basis points", "percent": "percent",
    "magnitude": "magnitude", "point": "points",
}  # fmt: skip


METRIC = {
    "kilometres": "km", "kilometers": "km", "metres": "m", "meters": "m", "kilograms": "kg",
    "centimetres": "cm", "centimeters": "cm", "millimetres": "mm", "millimeters": "mm",
}  # fmt: skip


# Words a quantity's text can start with (besides figures, currency symbols and codes).
STARTERS = (
    frozenset(BOUND_BY_FIRST)
    | frozenset(UNITS_WORDS)
    | frozenset(ROUND_PLURALS)
    | frozenset(DOLLAR_PREFIXES)
    | wordset("a an half dozen tens between from rs rs.")
)


def superlative(word: str) -> bool:
    head = word.partition("-")[0]
    return head in ("most", "least", "worst", "best") or noun_tag(head) in ("JJS", "RBS")


def compound_unit(word: str) -> str | None:
    """The unit of a figure-word compound's word: "day" -> days, "strong" -> people."""
    if word in COMPOUND_UNITS:
        return COMPOUND_UNITS[word]
    if word in UNITS_WORDS or word in SCALES or word in DENOMINATORS:
        return None
    if word in MEASURES or noun_tag(word) == "NN":
        return metric(plural(word))
    return None


def metric(unit: str) -> str:
    """Metric units by their symbols, as the figures are usually written: "km", "m"."""
    return METRIC.get(unit, unit)


def hyphen_number(word: str) -> int | None:
    """ "twenty-five" -> 25, "one-thousand" -> 1000; None for "three-day"."""
    head, _, tail = word.partition("-")
    if not tail or head not in UNITS_WORDS:
        return None
    if tail in SCALES:
        return UNITS_WORDS[head] * SCALES[tail]
    tens, ones = UNITS_WORDS[head], UNITS_WORDS.get(tail, 0)
    if tens >= 20 and tens % 10 == 0 and 0 < ones < 10:
        return tens + ones
    return None


def is_adjective(word: str) -> bool:
    if word in ING_NOUNS:
        return False
    return "-" in word or word in ADJECTIVES or word.endswith(ADJECTIVE_SUFFIXES)


def is_verb_like(word: str) -> bool:
    return word.endswith(("ed", "ing", "ly")) and word not in ING_NOUNS


IRREGULAR = {"person": "people", "man": "men", "woman": "women", "child": "children"}


ABBREVIATIONS = GLUED_UNITS | wordset("m t g")


def plural(word: str) -> str:
    """The plural a unit is reported in: "container" -> "containers", "km" stays "km"."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word in ABBREVIATIONS or word in COUNTED or word in CURRENCY_WORDS:
        return word
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word
    if word.endswith(("ss", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


SENTENCE_ENDS = frozenset(".!?")


CLOSING = frozenset("\"'”’)")


ABBREVIATED = wordset(
    """mr mrs ms dr st gov sen rep gen col lt sgt capt prof inc co corp ltd jr sr vs no
    jan feb mar apr jun jul aug sep sept oct nov dec"""
)


LINKS = wordset("from to and or versus vs compared with against")


CONTRASTS = wordset("but whereas although though")


CHANGE_NOUNS = wordset("gains growth losses cuts")


def countable(unit: str | None) -> bool:
    """A unit that counts things (not a share, money, time or a measure)."""
    if unit is None or unit in ("percent", "percentage points", "basis points"):
        return False
    if unit in CODES or unit in CURRENCY_WORDS.values() or unit == "magnitude":
        return False
    head = unit.split()[-1].lower()
    return head not in MEASURES and head not in LONGER_TIMES and not head.startswith("degree")


def plural_noun(word: str) -> bool:
    """A plural noun by the general English lexicon (Brill's tags), or by its form when
    the lexicon does not have it."""
    if word in COUNTED or word in IRREGULAR.values():
        return True
    tag = noun_tag(word)
    if tag is not None:
        return tag == "NNS"
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s"))


def people(word: str) -> str:
    return "people" if word in PEOPLE_UNITS else word


def word_tags() -> dict[str, str]:
    """Lower-case word -> its most frequent Penn tag in Brill's lexicon, read from the
    lower-case entries only (``lexicon.lowercase_tags``): "deaths" is NNS, though "Deaths"
    (a headline word) is listed first as NNP."""
    return lowercase_tags()


def noun_tag(word: str) -> str | None:
    return word_tags().get(word)


# Words the look back stops at though they do not end in "s" (``Units._looking_back``).
CLUE_WORDS = (
    COUNTED
    | frozenset(IRREGULAR.values())
    | PEOPLE_NOUNS
    | CASUALTY_WORDS
    | CHANGE_NOUNS
    | wordset("toll")
)
