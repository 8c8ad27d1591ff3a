"""Claim lines: the same measured thing followed across sources and time.

Pure and deterministic. A figure's *subject* is what it measures: the unit's head noun
("containers"), what the unit is of ("of weapons"), and the content words of the clause
around it, with entities tagged by their part ("from" North Korea, "to" Russia) and
predicates folded across synonyms (sent/shipped/dispatched -> send). Figures whose
subjects agree form one line, ordered by the date the claim was made, then log order.
docs/decisions/0009 explains the rules and their limits.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import pycountry

from ledger.extract.cues import MONTHS, REPORTING_FORMS, WEEKDAYS, wordset
from ledger.extract.features import part_of_speech
from ledger.extract.model import Bound, Precision, Quantity
from ledger.extract.places import is_place
from ledger.extract.roles import ORGANIZATION_HEADS, PERSON_HEADS, TITLE_WORDS
from ledger.identity import british_american

RULES_VERSION = "6"


@dataclass(frozen=True, kw_only=True)
class LineClaim:
    """A claim as the line rules see it: ``text`` is the sentence it was quoted from (the
    figures' words occur in it), ``claimant`` the identity id (None if unattributed)."""

    claim_id: str
    source: str
    text: str
    quantities: tuple[Quantity, ...]
    made_on: str | None
    made_on_precision: Precision | None
    claimant: str | None = None
    claimant_name: str | None = None
    claimant_label: str | None = None
    """Shown for a claimant with no name ("district police chief (Nepal)"): a point's
    ``claimant_name`` then, never an identity, and no part of the subject."""
    published: str | None = None
    """The source's publication date: orders a point whose date made is unknown."""


@dataclass(frozen=True, kw_only=True)
class Subject:
    """What a figure measures: the unit's head noun, what the unit counts ("of weapons"),
    the action nearest the figure (a predicate class: "send", "kill"), the entities of its
    clause (tagged ``from:``/``to:`` when the clause says which way), and its other
    content words."""

    unit: str
    thing: frozenset[str]
    action: str | None = None
    head: str = ""
    """The head of what the unit counts: "area" of "the world's land area"."""
    entities: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    period: frozenset[str] = frozenset()
    """The months the clause names ("added 304,000 jobs in January"): figures for different
    months are different points in time of a series, not one line."""
    areas: frozenset[str] = frozenset()
    """The entities that name an area inside a country ("mount evere", "texas"): a figure
    there counts that area, not its country's whole."""
    years: frozenset[int] = frozenset()
    """The years the clause places the figure in ("in 1906 when they won just 156 seats",
    "In 1997, ..."): a figure of another year is a point of another time, not this line's."""
    measure: str = ""
    """What is counted when the words say more than the unit: "people" killed, a "death
    toll" and "deaths" are all ``death``; a modal figure ("could reach 20,000") is a
    projection (``death projected``). Empty: the unit is the measure."""

    @property
    def measured(self) -> str:
        """The measure, else the unit."""
        return self.measure or self.unit

    @property
    def key(self) -> str:
        """The subject as one deterministic string."""
        thing = f" of {' '.join(sorted(self.thing))}" if self.thing else ""
        parts = [*sorted(self.entities), *([self.action] if self.action else [])]
        return f"{self.measured}{thing} | {' '.join(parts)} | {' '.join(sorted(self.words))}"

    @functools.cached_property
    def places(self) -> frozenset[str]:
        """The entities without their direction tags."""
        return frozenset(e.split(":", 1)[-1] for e in self.entities)

    @functools.cached_property
    def place_words(self) -> tuple[frozenset[str], ...]:
        """The words of each of ``places`` (as ``_share_place`` compares them)."""
        return tuple(frozenset(place.split()) for place in sorted(self.places))


@dataclass(frozen=True, kw_only=True)
class Point:
    """One figure on a line; ``id`` is ``<claim id>:<index of the quantity in the claim>``."""

    id: str
    claim_id: str
    value: str
    high: str | None
    bound: Bound
    unit: str
    text: str
    claimant: str | None
    claimant_name: str | None
    source: str
    made_on: str | None
    made_on_precision: Precision | None
    published: str | None
    order: int
    """Position in log order among all points (ties on ``made_on`` go by it)."""


@dataclass(frozen=True, kw_only=True)
class Line:
    """Figures for one subject: ``id`` is the id of its first point in log order, ``label``
    the clause that point came from; points ordered by date made (the source's publication
    date when that is unknown; undated points last), then log order."""

    id: str
    subject: Subject
    label: str
    points: tuple[Point, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """The distinct sources of the points, in point order."""
        return tuple(dict.fromkeys(p.source for p in self.points))


# ---------------------------------------------------------------------------------------------
# Words

_PREDICATES: dict[str, frozenset[str]] = {
    "send": wordset(
        "send sends sent sending ship ships shipped shipping dispatch dispatches dispatched "
        "dispatching deliver delivers delivered delivering transfer transfers transferred "
        "transferring supply supplies supplied supplying provide provides provided providing "
        "export exports exported exporting transport transports transported transporting "
        "give gives gave given giving"
    ),
    "change": wordset(
        "rise rises rose risen rising fall falls fell fallen falling increase increases "
        "increased increasing decrease decreases decreased decreasing climb climbs climbed "
        "drop drops dropped dip dipped grow grows grew grown jump jumped slip slipped "
        "decline declines declined edge edged reach reached reaches hit hits stand stood stands"
    ),
    "kill": wordset("kill kills killed killing die dies died dead death deaths"),
    "injure": wordset("injure injures injured injuring wound wounded wounding hurt"),
    "add": wordset("add adds added adding create creates created gain gains gained"),
    "win": wordset("win wins won winning secure secures secured take takes took"),
    "receive": wordset("receive receives received receiving obtain obtained acquire acquired"),
}
_PREDICATE_OF = {form: base for base, forms in _PREDICATES.items() for form in forms}

_THINGS: dict[str, frozenset[str]] = {
    "weapon": wordset("weapon weapons arms munition munitions ammunition armament armaments"),
}
_THING_OF = {form: base for base, forms in _THINGS.items() for form in forms}

# State metonyms: a capital or a government seat stands for its country; country names
# map to themselves so that one opening a sentence is still known as a place.
_COUNTRIES = wordset(
    """russia ukraine china japan iran iraq syria israel india pakistan france germany italy
    spain poland canada mexico brazil turkey egypt taiwan belarus"""
)
_PLACES = {
    "pyongyang": "north korea", "dprk": "north korea", "seoul": "south korea",
    "rok": "south korea", "moscow": "russia", "kremlin": "russia", "kyiv": "ukraine",
    "kiev": "ukraine", "beijing": "china", "washington": "us", "us": "us",
    "united states": "us", "america": "us", "london": "uk", "britain": "uk",
    "united kingdom": "uk", "uk": "uk", "tehran": "iran", "tokyo": "japan",
    "paris": "france", "berlin": "germany", "ottawa": "canada", "new delhi": "india",
    **{country: country for country in _COUNTRIES},
}  # fmt: skip

# Parties by their common nicknames, so that "the Tories" meet "the Conservatives".
_ALIASES = {
    "tories": "conservatives", "tory": "conservative", "gop": "republicans",
    "dems": "democrats", "lib dems": "liberal democrats",
}  # fmt: skip

_STOP = wordset(
    """a an the of and or to in on at for from by with as than that which who whom whose is
    are was were be been being has have had do does did will would could may might can shall
    should must this these those it its their his her our they them he she we i you there
    here not no nor but so if then also about approximately around roughly nearly almost some
    estimated close more over least up fewer less upwards many much total totaling totalling
    including such other into onto since until after before during while when where what
    just only even still yet already now new latest further additional another each all both
    any most very own per cent percent number numbers figure figures amount estimate
    according mr mrs ms dr meanwhile however though moreover furthermore nonetheless
    nevertheless instead overall"""
)
_TIME = (
    frozenset(MONTHS)
    | frozenset(WEEKDAYS)
    | wordset(
        """year years month months week weeks day days today yesterday tomorrow ago last next
        earlier later recently previously currently time times period quarter quarters far"""
    )
)
_TO = wordset("to into toward towards for")
_FROM = wordset("from by")
_ENDS_THING = _TO | _FROM | frozenset(_PREDICATE_OF) | wordset("in on at since over with")
_LEFT_BOUNDARY = re.compile(r"(?:[;:—(]|,\s|\s[–-]\s|\bthat\b|\bwhile\b)", re.IGNORECASE)
# A closing quotation mark ends the words quoted: what follows is who said them.
_RIGHT_BOUNDARY = re.compile(
    r"(?:[;:—)]|,\s|\s[–-]\s|\bwhile\b|\bwhich\b|(?<=\S)[\"”](?=[\s,.;:]|$))", re.IGNORECASE
)
# Reporting verbs that end the attribution before a clause ("officials said North Korea
# sent ..."); "added", "reported" and "estimated" are left out: they are as often the
# predicate of the figure itself ("the economy added 304,000 jobs").
_SPEECH_BOUNDARY = frozenset(REPORTING_FORMS) - wordset(
    """add adds added adding report reports reported reporting estimate estimates estimated
    estimating"""
)
_TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")
_CAPITAL = re.compile(r"[A-Z]")


@functools.lru_cache(maxsize=1 << 16)
def _fold(word: str, *, spelling: bool = True) -> str:
    """A word as compared: no diacritics, case, possessive or dots; British spellings as
    American unless ``spelling`` is False (names: "Labour" and "Labor" are two parties)."""
    decomposed = unicodedata.normalize("NFKD", word)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.replace("’", "'").removesuffix("'s").removesuffix("'").replace(".", "")
    return british_american(plain) if spelling else plain


def singular(word: str) -> str:
    """A plural noun's singular by spelling alone ("containers" -> "container",
    "casualties" -> "casualty", "losses" -> "loss")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        if _noun(word[:-1]) and not _noun(word[:-2]):
            return word[:-1]  # "avalanches" -> "avalanche", "headaches" -> "headache"
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _noun(word: str) -> bool:
    """Whether the TextBlob lexicon knows ``word`` as a singular noun."""
    return part_of_speech().get(word) in {"NN", "NNP"}


def _stem(word: str) -> str:
    """A content word as compared: predicates and things by class, nouns singular."""
    if word in _PREDICATE_OF:
        return _PREDICATE_OF[word]
    if word in _THING_OF:
        return _THING_OF[word]
    return singular(word)


def unit_head(unit: str) -> str:
    """The head noun of a unit, singular ("artillery shells" -> "shell"); currencies and
    "percent" as they are."""
    words = _fold(unit).replace("-", " ").split()
    if not words:
        return unit
    if words[-1] in {"pct", "%"}:
        return "percent"
    if words[-1] in {"bps", "bp"} or words[-2:] == ["basis", "points"]:
        return "basis point"  # 50 basis points are 0.5 percentage points: two units
    if words[-2:] == ["percentage", "points"]:
        return "percentage point"
    return (
        words[-1] if words[-1] in {"percent", "points"} or unit.isupper() else singular(words[-1])
    )


# ---------------------------------------------------------------------------------------------
# Subjects


def clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause of ``text`` holding ``text[start:end]``: from the last boundary before it
    (a comma and space, "that", a reporting verb, a semicolon...) to the first after it."""
    lefts = [
        0,
        *(
            match.end()
            for match in _LEFT_BOUNDARY.finditer(text, 0, start)
            if not _locates(text, match)
        ),
    ]
    while len(lefts) > 1 and not _names_something(text[lefts[-1] : start]):
        lefts.pop()  # "The participation rate, at 63.2 percent,": the noun before
    left = lefts[-1]
    for match in _TOKEN.finditer(text, left, start):
        if _fold(match.group()) in _SPEECH_BOUNDARY and text[match.end() : start].strip() not in (
            "to",
            "at",
        ):  # not "the total number of victims found to 78": no clause follows the verb
            left = match.end()
    right = len(text)
    found = _RIGHT_BOUNDARY.search(text, end)
    while found is not None and _locates(text, found):
        found = _RIGHT_BOUNDARY.search(text, found.end())
    while found is not None and _DASH.fullmatch(found.group()):
        closing = _DASH.search(text, found.end())
        going_on = closing is not None and _GOES_ON.match(text, closing.end()) is not None
        if closing is None or not going_on:
            break  # a lone dash ends the clause ("73 seats - just shy of the 76 needed")
        # A pair of dashes sets off an aside ("461,400 patients – 30.5 per cent of the
        # total – were waiting"): the clause goes on after it, unless a conjunction begins
        # another ("on 131 seats – its worst – and the Liberal Democrats on 61").
        found = _RIGHT_BOUNDARY.search(text, closing.end())
    if found is not None:
        right = found.start()
    return left, right


_DASH = re.compile(r"\s[–-]\s")
_PLACE_AFTER = re.compile(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")


def _locates(text: str, boundary: re.Match[str]) -> bool:
    """Whether a comma only separates a place from the one it lies in ("Surfside, Florida
    has risen to 86"): a name before it, a known place after it."""
    if not boundary.group().startswith(","):
        return False
    before = text[: boundary.start()].rsplit(None, 1)
    after = _PLACE_AFTER.match(text, boundary.end())
    if not before or not before[-1][:1].isupper() or after is None:
        return False
    return _named_place(after.group().rstrip(".").split()) is not None


_GOES_ON = re.compile(r"(?!(?:and|but|or|while|whereas)\b)[a-z]")


def locate(text: str, words: str) -> int:
    """Where a figure's words stand in ``text`` as words of their own (the "53" of "stood
    at 53", not the end of "1,953"), else where they first occur; -1 if nowhere."""
    found = _own_words(words).search(text)
    return found.start() if found is not None else text.find(words)


@functools.lru_cache(maxsize=1 << 12)
def _own_words(words: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.,]){re.escape(words)}(?!\w|[.,]\d)")


def _names_something(text: str) -> bool:
    """Whether words hold a content word besides a predicate: "rose from" names nothing
    ("The unemployment rate, meanwhile, rose from 3.9 percent to 4 percent")."""
    return any(_keep(t.word) and t.word not in _PREDICATE_OF for t in _tokens(text))


def subject_of(claim: LineClaim, quantity: Quantity, context: str = "") -> Subject | None:
    """The subject of one figure of ``claim``; None when the figure has no unit or its words
    are not in the claim's text. ``context`` is the text of the source's claims just
    before it, where "the party" of the clause finds the party it stands for."""
    at = locate(claim.text, quantity.text)
    if at < 0:
        return None
    end = at + len(quantity.text)
    left, right = clause_around(claim.text, at, end)
    before = _tokens(claim.text[left:at])
    after = _tokens(claim.text[end:right])
    adjacent = _adjacent_measure(before)
    unit_words = quantity.unit or adjacent
    if unit_words is None and quantity.high is None:  # a bare range is ages, hours, a score
        unit_words = _implicit_unit(claim.text, at, end, before, after)
    if unit_words is None:
        return None
    unit = unit_head(unit_words)
    thing, head, after = _complement(after)
    skip = _name_words(claim.claimant_name)
    entities, areas, words = _content(before, skip, agent=True, opens=left == 0)
    if not entities and context:
        entities |= _antecedents(before, context, skip)
    more_entities, _, more_words = _content(after, skip, agent=False, opens=False)
    # An area scopes the figure only in its own predicate: "killing hundreds of people and
    # damaging buildings in the Atlas Mountains" does not count the Atlas Mountains' dead.
    _, more_areas, _ = _content(_until_conjunction(after), skip, agent=False, opens=False)
    # "Surfside, Florida": the state only says where the town is; the town is the scope.
    qualifiers = _qualifiers(claim.text)
    entities = {e for e in entities if e.split(":", 1)[-1] not in qualifiers}
    more_entities = {e for e in more_entities if e.split(":", 1)[-1] not in qualifiers}
    areas -= qualifiers
    if not entities and not more_entities:  # "officials in India said the toll stood at 53"
        entities, areas = _attribution_places(claim.text, left, right, skip)
        entities = {e for e in entities if e.split(":", 1)[-1] not in qualifiers}
        areas -= qualifiers
    measure = _measure("body", before, after) if adjacent == "body" else adjacent
    measure = measure or _measure(unit, before, after)
    if not measure and not _LETTER.search(quantity.text):
        measure = _named_before(before)  # "the death toll from the fires stood at 93"
    if unit == "vote" and _TALLY.fullmatch(quantity.text):
        measure = "tally"  # "voted 50-48": the votes for in a tally, a measure of its own
    if measure and _MODALS & {t.word for t in [*before, *after] if not t.capital}:
        measure = f"{measure} projected"
    role = _role(claim.text[:at], unit) or _after(quantity.text, claim.text[end:])
    if role is None and _ANOTHER_BEFORE.search(claim.text[:at]):
        # "another 2,000 were still being processed" adds to a count (a change) unless,
        # after another figure, its own predicate says what it counts ("632 killed and
        # another 329 injured"); "identified those additional four people" adds.
        after_another = bool(claim.quantities) and quantity is not claim.quantities[0]
        role = None if after_another and _nearest_measure(before, after) else "change"
    if role is not None:
        measure = f"{measure or unit} {role}"
    if _expected(claim.text, at, left, before):
        measure = f"{measure or unit} projected"
    return Subject(
        unit=unit,
        thing=thing,
        head=head,
        action=None if measure else _nearest_action(before, after),
        entities=frozenset(entities | more_entities),
        areas=frozenset(areas | more_areas),
        words=frozenset(
            (words | more_words)
            - {unit, *(measure or "").split()}
            - set(_PREDICATES)
            - _MEASURE_WORDS
            - _GENERIC
        ),
        measure=measure or "",
        period=_period(claim.text, left, [*before, *after]),
        years=_years(claim.text, left, right),
    )


# "in 1906", "during 2019", an opening "In 1997," — not "since 1992" (where a running
# count starts) nor "from 2019" (a comparison's base).
_IN_YEAR = re.compile(r"\b(?:[Ii]n|[Dd]uring|[Tt]hroughout)\s+((?:1[89]|20)\d\d)\b(?![-–/])")


def _years(text: str, left: int, right: int) -> frozenset[int]:
    """The years named in the figure's clause, or in an opening "In 1997" of the sentence
    before it."""
    years = {int(m.group(1)) for m in _IN_YEAR.finditer(text, left, right)}
    opening = _IN_YEAR.match(text)
    if not years and opening is not None and left >= opening.end():
        years.add(int(opening.group(1)))
    return frozenset(years)


_OPENING_TIME = re.compile(r"(?:In|During|For|Through|By)\s+([A-Z][a-z]+)[^,;]{0,12},")
_IN_PERIOD = wordset("in for during")
_GENERIC = wordset("rate rates level levels ratio")


def _period(text: str, left: int, tokens: list[_Token]) -> frozenset[str]:
    """The months named in the clause, or in an opening "In December," of the sentence."""
    months = {
        t.word
        for previous, t in itertools.pairwise(tokens)
        if t.capital and t.word in MONTHS and previous.word in _IN_PERIOD
    }  # "in January", not "since September": that is where a running count starts
    opening = _OPENING_TIME.match(text)
    if opening is not None and left >= opening.end() and _fold(opening.group(1)) in MONTHS:
        months.add(_fold(opening.group(1)))
    return frozenset(months)


# Measures: what a figure counts when the unit alone does not say ("people" killed or
# injured), a noun naming the measure before a bare figure ("the death toll rose to 2,400",
# "a majority of 170"), and the measures a person count takes from its predicate.
_PERSONS = wordset(
    """people person persons other others resident residents patient patients child children
    adult adults villager villagers civilian civilians victim victims individual individuals
    men women migrant migrants student students worker workers passenger passengers"""
)
_PERSON_HEADS = frozenset(singular(w) for w in _PERSONS)
_MEASURE_OF_PREDICATE = {
    **dict.fromkeys(
        wordset("killed kill kills killing died die dies dead perished drowned"), "death"
    ),
    **dict.fromkeys(wordset("injured injure injuring wounded hurt"), "injury"),
    **dict.fromkeys(wordset("hospitalized hospitalised hospitalization"), "hospitalization"),
    **dict.fromkeys(wordset("diagnosed infected"), "case"),
    **dict.fromkeys(wordset("missing unaccounted"), "missing"),
    **dict.fromkeys(wordset("displaced evacuated homeless"), "displaced"),
    **dict.fromkeys(wordset("identified identify identifies identifying"), "identified"),
    **dict.fromkeys(wordset("arrested detained"), "arrest"),
    **dict.fromkeys(wordset("buried interred"), "burial"),
}
_MEASURE_OF_UNIT = {
    "death": "death", "fatality": "death", "dead": "death", "toll": "death",

    "injury": "injury", "hospitalization": "hospitalization", "case": "case",
    "infection": "case",
}  # fmt: skip
# A noun that names the measure of a bare figure anywhere before it in its clause ("the
# number of confirmed measles cases ... is now at 124", "the death toll has risen to 2,900").
_NAMED_BEFORE = {"toll": "death", "deaths": "death", "cases": "case", "tally": "vote"}
# A noun that names the measure only right before the figure ("a majority of 170 MPs",
# "magnitude 7.2 quake"), whatever the figure's own unit.
_NAMED_ADJACENT = {
    "majority": "majority", "magnitude": "magnitude", "bodies": "body", "corpses": "body",
}  # fmt: skip
_MEASURE_WORDS = frozenset(_MEASURE_OF_PREDICATE) | wordset("toll deaths death case cases")
_BETWEEN_NAME_AND_FIGURE = wordset(
    """of at to about around nearly almost roughly approximately some over more than least
    at just only an estimated"""
)
_DISTANCES = wordset("mile km kilometer kilometre meter metre m ft foot feet yard")
_DEPTH_WORDS = wordset("below beneath deep depth down underground underwater")
_MODALS = wordset("could might may")
_AUXILIARIES = wordset("have has had were are was is been be being already reportedly now")
_REPORTED_AS = wordset("reported confirmed feared believed known presumed thought said")
_QUANTIFIERS = wordset("many several some numerous countless other more dozens hundreds thousands")
_CONJUNCTIONS = wordset("and but while whereas")


_CHANGE_BEFORE = re.compile(
    r"\b(?:up|down|(?:an? )?(?:increase|rise|drop|fall|decline|gain|loss|jump) of)\s+"
    r"(?:(?:about|around|nearly|almost|some|more than|at least|over)\s+)?$",
    re.IGNORECASE,
)
# "another 2,000", "an additional 40": more beyond a figure already given.
_ANOTHER_BEFORE = re.compile(
    r"\b(?:another|(?:an? )?additional|a further)\s+"
    r"(?:(?:about|around|nearly|almost|some|more than|at least|over)\s+)?$",
    re.IGNORECASE,
)
_TALLY = re.compile(r"[\d,]+\s*(?:-|–|to)\s*[\d,]+")
# "410 out of 650 seats", "77 of the 151 seats", "one of 15 tests": the whole a part is of.
_WHOLE_BEFORE = re.compile(
    r"(?:\bout|(?:\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred"
    r"|thousand|million|half|most|all|some))[\d,.%]*)\s+of(?:\s+(?:the|its|their))?\s+"
    r"(?:a total of\s+)?$",
    re.IGNORECASE,
)
# "a rate hike of 0.5 points", "cut rates by 0.25 percentage points": a change of a rate.
_BY_BEFORE = re.compile(
    r"\bby\s+(?:an?\s+)?(?:(?:about|around|nearly|almost|some|more than|at least|over|just"
    r"|further|another|substantial|whopping)\s+)*$",
    re.IGNORECASE,
)
_RATE_UNITS = frozenset({"percent", "point", "points", "percentage point", "basis point"})


# "six new cases", "17 additional deaths", "40 further arrests", "12 more bodies": what was
# added to a count ("eight more than" is a margin, below).
_ADDED = r"(?:new|additional|further|more(?!\s+than\b))\b"
_NEW_IN = re.compile(rf"\s+{_ADDED}")
_NEW_AFTER = re.compile(rf"\s+(?:(?:thousand|million|billion)\s+)?{_ADDED}", re.IGNORECASE)
_NEEDED_AFTER = re.compile(r"\s+(?:needed|required|necessary)(?:\s+(?:to|for|by)\b|[,.;]|$)")
_MARGIN_AFTER = re.compile(
    r"\s+(?:[a-z]+\s+)?(?:more|fewer|less|higher|lower|greater|bigger|smaller)\s+than\b"
)
_EXPECTING = wordset(
    """expect expects expected expecting predict predicts predicted predicting forecast
    forecasts forecasted forecasting anticipate anticipates anticipated anticipating"""
)


def _after(words: str, after: str) -> str | None:
    """What the words of a figure and those right after it say it is, if not the level:
    "165,000 new jobs", "six new cases", "17 additional deaths" count what was added (a
    change); "eight more than
    needed", "3 points lower than" the gap between two levels (a margin); "the 76 needed
    for a majority" what is needed."""
    if _NEW_IN.search(words) or _NEW_AFTER.match(after):
        return "change"
    if _NEEDED_AFTER.match(after):
        return "needed"  # "the 76 needed for a majority": a threshold, not the level
    return "margin" if _MARGIN_AFTER.match(after) else None


def _expected(text: str, at: int, left: int, before: list[_Token]) -> bool:
    """Whether the figure is what someone expected, not what happened: an expectation
    verb in its clause before it ("economists had expected an increase of 170,000 jobs"),
    or the word right before its clause ("They predicted, on average, 165,000 new jobs")."""
    if any(t.word in _EXPECTING for t in before):
        return True
    previous = list(_TOKEN.finditer(text, 0, left))
    return bool(previous) and left < at and _fold(previous[-1].group()) in _EXPECTING


def _role(before: str, unit: str) -> str | None:
    """A figure that is not the measured level itself: a change ("up 211", "down 250 seats",
    "an increase of 34", a rate's "by 0.5 percentage points") or the whole a part is out of
    ("410 out of 650 seats", "77 of the 151 seats")."""
    if _CHANGE_BEFORE.search(before) or (unit in _RATE_UNITS and _BY_BEFORE.search(before)):
        return "change"
    if _WHOLE_BEFORE.search(before):
        return "whole"
    return None


def _adjacent_measure(before: list[_Token]) -> str | None:
    """ "majority of 170", "magnitude 7.2": the measure named right before the figure."""
    for token in reversed(before):
        if token.word in _NAMED_ADJACENT:
            return _NAMED_ADJACENT[token.word]
        if token.word not in _BETWEEN_NAME_AND_FIGURE:
            return None
    return None


def _implicit_unit(
    text: str, at: int, end: int, before: list[_Token], after: list[_Token]
) -> str | None:
    """The unit of a bare figure: "410 out of 650 seats" (the whole's unit), "150 injured
    people" (a noun after a participle), "the death toll rose to 2,400" (a noun naming the
    measure earlier in the clause), "more than a thousand have been buried" after "many
    bodies" (the counted noun the sentence began with), "2,300 have been killed"."""
    out_of = re.match(r"\s+out of\s+[\d,.]+\s+([A-Za-z]+)", text[end:])
    if out_of is not None:
        return out_of.group(1)
    if len(after) >= 2 and after[0].word.endswith(("ed", "en")) and after[1].word in _PERSONS:
        return after[1].word
    nearer = _until_conjunction(before[::-1])
    for token in nearer:
        if token.word in _NAMED_BEFORE:
            return token.word
        if token.word in _MEASURE_OF_PREDICATE and any(t.word == "number" for t in nearer):
            return "people"  # "the number known to have died ... had risen to 1,953"
    for token in reversed(before):
        if token.word in _NAMED_BEFORE:
            return token.word
    rest = list(after)
    while rest and rest[0].word in _AUXILIARIES:
        rest = rest[1:]
    if len(rest) < len(after) and len(rest) > 1 and rest[0].word in _REPORTED_AS:
        rest = rest[1:]  # "10 have been reported dead", "were confirmed killed"
    if len(rest) == len(after) or not rest:
        return None
    if not rest[0].word.endswith(("ed", "en", "ing")) and rest[0].word not in _MEASURE_OF_PREDICATE:
        return None  # a participle, or a predicate of a measure ("were hurt", "reported dead")
    words = [_Token(_fold(m.group()), False) for m in _TOKEN.finditer(text, 0, at)]
    antecedent = next(
        (
            token.word
            for previous, token in reversed(list(itertools.pairwise(words)))
            if previous.word in _QUANTIFIERS and token.word.endswith("s") and _keep(token.word)
        ),
        None,
    )
    if antecedent is not None:
        return antecedent
    return "people" if rest[0].word in _MEASURE_OF_PREDICATE else None


def _measure(unit: str, before: list[_Token], after: list[_Token]) -> str | None:
    """The measure of a figure: its unit's ("deaths", "seats"), else for a count of persons
    the predicate nearest it, not across a conjunction ("killed 600 people and injured
    hundreds": 600 killed)."""
    if unit in _MEASURE_OF_UNIT:
        return _MEASURE_OF_UNIT[unit]
    if unit in _DISTANCES and _DEPTH_WORDS & {t.word for t in [*before, *after]}:
        return "depth"  # "11 miles below the Earth's surface", "put it at 5 miles down"
    if unit in _BODIES:  # bodies count the dead, unless said to be buried ...
        return _nearest_measure(before, after) or "death"
    if unit in _VICTIMS and _RECOVERED & {t.word for t in [*before, *after]}:
        return _nearest_measure(before, after) or "death"  # "victims recovered", "found"
    if unit not in _PERSON_HEADS:
        return None
    for token in _until_conjunction(after)[:3]:  # "with 150 people still missing"
        if token.word in _MEASURE_OF_PREDICATE:
            return _MEASURE_OF_PREDICATE[token.word]
    for token in _until_conjunction(before[::-1]):
        if token.word in _NAMED_BEFORE:  # "the toll ... has risen to 1,341 people"
            return _MEASURE_OF_UNIT.get(singular(token.word), _NAMED_BEFORE[token.word])
    return _nearest_measure(before, after) or _number_of(before)


def _number_of(before: list[_Token]) -> str | None:
    """The measure "the number of" names before the figure, a few words on: "The number
    of those confirmed dead after the collapse ... has risen to 86" counts deaths."""
    words = [t.word for t in before]
    for at in range(len(words) - 1):
        if words[at] == "number" and words[at + 1] == "of":
            for word in words[at + 2 : at + 6]:
                if word in _MEASURE_OF_PREDICATE:
                    return _MEASURE_OF_PREDICATE[word]
    return None


_BODIES = wordset("body corpse")
_VICTIMS = wordset("victim")
_RECOVERED = wordset("recovered recover recovering found pulled")
_LETTER = re.compile(r"[A-Za-z]")


def _named_before(before: list[_Token]) -> str | None:
    """The measure a noun names earlier in a bare figure's clause, not across a conjunction
    ("the death toll from last week's fires stood at 93"): whatever noun the figure's unit
    was taken from ("fires"), the toll is what it gives."""
    for token in _until_conjunction(before[::-1]):
        if token.word in _NAMED_BEFORE:
            return _MEASURE_OF_UNIT.get(singular(token.word), _NAMED_BEFORE[token.word])
    return None


def _nearest_measure(before: list[_Token], after: list[_Token]) -> str | None:
    """The measure of the predicate nearest the figure, not across a conjunction."""
    sides = [_until_conjunction(after), _until_conjunction(before[::-1])]
    for distance in range(max(len(sides[0]), len(sides[1]))):
        for side in sides:
            if distance < len(side) and side[distance].word in _MEASURE_OF_PREDICATE:
                return _MEASURE_OF_PREDICATE[side[distance].word]
    return None


def _until_conjunction(tokens: list[_Token]) -> list[_Token]:
    for index, token in enumerate(tokens):
        if token.word in _CONJUNCTIONS:
            return tokens[:index]
    return tokens


def _nearest_action(before: list[_Token], after: list[_Token]) -> str | None:
    """The predicate class of the verb nearest the figure (after it first on a tie)."""
    for distance in range(max(len(before), len(after))):
        for side in (after, before[::-1]):
            if distance < len(side) and side[distance].word in _PREDICATE_OF:
                return _PREDICATE_OF[side[distance].word]
    return None


@dataclass(frozen=True)
class _Token:
    word: str
    capital: bool


def _tokens(text: str) -> list[_Token]:
    """The words of ``text``; a capitalised word keeps its spelling (it may be a name)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        if not match.group()[0].isdigit():
            capital = bool(_CAPITAL.match(match.group()))
            tokens.append(_Token(_fold(match.group(), spelling=not capital), capital))
    return tokens


def _complement(after: list[_Token]) -> tuple[frozenset[str], str, list[_Token]]:
    """What the unit counts: "(containers) of weapons and ammunition" -> {weapon}, its head
    (the last word of its first noun phrase: "area" of "the world's land area is", not
    "population" of "the population could"); the rest."""
    if not after or after[0].word != "of":
        return frozenset(), "", after
    thing: list[str] = []
    head, ended = "", False
    rest = after[1:]
    while rest and not rest[0].capital and rest[0].word not in _ENDS_THING:
        word = rest[0].word
        if word not in _STOP and word not in _TIME:
            thing.append(_stem(word))
            head = head if ended else _stem(word)
        elif head:
            ended = True  # a function word after the first phrase's words ends it
        rest = rest[1:]
    return frozenset(thing), head, rest


def _name_words(name: str | None) -> str:
    return " ".join(_fold(w, spelling=False) for w in (name or "").split())


def _content(
    tokens: list[_Token], claimant: str, *, agent: bool, opens: bool
) -> tuple[set[str], set[str], set[str]]:
    """Entities, areas and other content words of one side of the figure. An entity run becomes
    one tagged word: before the figure an entity is where the action comes from, after "to"
    where it goes. A lone capitalized word opening the sentence is an entity only if it is
    a known place."""
    entities: set[str] = set()
    areas: set[str] = set()
    out: set[str] = set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.capital and _keep(token.word):
            start = i
            while i + 1 < len(tokens) and tokens[i + 1].capital:
                i += 1
            run = [t.word for t in tokens[start : i + 1]]
            previous = tokens[start - 1].word if start > 0 else ""
            entity = _entity(run, claimant)
            if entity is not None and (
                start > 0 or not opens or len(run) > 1 or entity in _PLACES.values()
            ):
                entities.add(_tagged(_stemmed_place(entity), previous, agent=agent))
                if _area(entity):
                    areas.add(_stemmed_place(entity))
            elif entity is not None:
                out.add(_stem(british_american(token.word)))  # a common word opening it
        elif _keep(token.word) and token.word not in claimant.split():
            out.add(_stem(token.word))
        i += 1
    return entities, areas, out


# "Surfside, Florida", "Cloquet, Minn.", "Surfside, a beachside town in Florida": a place
# named after a comma, or at the end of an apposition after one, locates the name before it.
_QUALIFIED = re.compile(
    r"(?<![\w.])[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*,\s+"
    r"(?:an?\s+[\w\s-]{1,40}?\s+(?:in|of|near)\s+)?"
    r"((?:the\s+)?[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)"
)


@functools.lru_cache(maxsize=1024)
def _qualifiers(text: str) -> frozenset[str]:
    """The places (as subjects hold them) that only say where another named place is
    (cached: every figure of a claim asks about the same text)."""
    found = set()
    for match in _QUALIFIED.finditer(text):
        words = match.group(1).removeprefix("the ").rstrip(".").split()
        place = _named_place(words)
        if place is None:
            name = " ".join(_fold(w, spelling=False) for w in words)
            place = name if _area(name) else None
        if place is not None:
            found.add(_stemmed_place(place))
    return frozenset(found)


def _attribution_places(
    text: str, left: int, right: int, claimant: str
) -> tuple[set[str], set[str]]:
    """The known places (countries, subdivisions) of the attribution around a clause that
    names none: before it back to the previous boundary when a reporting verb cut it ("while
    officials in India said the toll there stood at 53"), after it when a closing quotation
    mark ended it ('"The toll has reached 1,170," a Nepal police spokesman said'). Where the
    speaker is from is where the figure is, unless the clause says otherwise."""
    spans = []
    ends = [0, *(m.end() for m in _LEFT_BOUNDARY.finditer(text, 0, left))]
    if len(ends) > 1 and ends[-1] == left:
        ends.pop()  # the clause's own opener ("said that ..."): the attribution is before it
    start = ends[-1]
    if start < left and any(
        _fold(m.group()) in _SPEECH_BOUNDARY for m in _TOKEN.finditer(text, start, left)
    ):
        spans.append(text[start:left])
    if text[right : right + 1] in {'"', "”"}:
        spans.append(text[right:])
    entities: set[str] = set()
    areas: set[str] = set()
    for span in spans:
        tokens = _tokens(span)
        i = 0
        while i < len(tokens):
            if tokens[i].capital and _keep(tokens[i].word):
                start_run = i
                while i + 1 < len(tokens) and tokens[i + 1].capital:
                    i += 1
                entity = _entity([t.word for t in tokens[start_run : i + 1]], claimant)
                if entity is not None and _known_place(entity):
                    entities.add(_stemmed_place(entity))
                    if _area(entity):
                        areas.add(_stemmed_place(entity))
            i += 1
    return entities, areas


_ORGANIZATION_HEADS = frozenset(ORGANIZATION_HEADS)


def _antecedents(before: list[_Token], context: str, claimant: str) -> set[str]:
    """The agent a definite description before the figure stands for: "the party will win
    410 seats" after "the Labour Party is on track to win" is Labour's. The nearest name in
    ``context`` (the claims just before, in the same source) ending in the same
    organisation noun; pronouns ("they", "it") are left alone: their antecedent is too
    often not the nearest name."""
    heads = [
        token.word
        for previous, token in itertools.pairwise(before)
        if previous.word == "the" and not token.capital and token.word in _ORGANIZATION_HEADS
    ]
    if not heads:
        return _group_antecedent(before, context, claimant)
    names = [
        [_fold(w, spelling=False) for w in m.group().split()]
        for m in re.finditer(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)+", context)
    ]
    for name in reversed(names):
        if name[-1] == heads[-1]:
            entity = _entity(name, claimant)
            if entity is not None:
                return {f"from:{_stemmed_place(entity)}"}
    return set()


# A named group in the plural ("the Tories", "the Liberal Democrats"): what a following
# "they" most often stands for when nothing else in the clause is named.
_PLURAL_GROUP = re.compile(r"\b[Tt]he\s+((?:[A-Z][\w'’-]*\s+)*[A-Z][\w'’-]*s)\b")


def _group_antecedent(before: list[_Token], context: str, claimant: str) -> set[str]:
    """The group "they" stands for as the figure's agent ("So far they have won only 121
    seats" after "In 1997 the Tories were reduced to 165 seats"): the last plural group
    named with "the" in ``context``, when it is not a place ("the Philippines")."""
    if not any(t.word == "they" for t in before) or any(
        t.capital and _keep(t.word) for t in before
    ):
        return set()
    groups = _PLURAL_GROUP.findall(context)
    if not groups:
        return set()
    words = groups[-1].split()
    entity = _entity([_fold(w, spelling=False) for w in words], claimant)
    if entity is None or _named_place(words) is not None:
        return set()  # (by its whole name: "the Greens" are no Greenland)
    return {f"from:{_stemmed_place(entity)}"}


def _named_place(words: Sequence[str]) -> str | None:
    """The place a written name stands for ("Florida", "the Netherlands" -> "netherlands",
    "Britain" -> "uk") when that whole name is a country or subdivision, else None."""
    name = " ".join(_fold(w, spelling=False) for w in words)
    place = _PLACES.get(name, name)
    return place if place in _PLACES.values() or is_place(place.title()) else None


@functools.cache
def _known_place(entity: str) -> bool:
    """A country or an ISO 3166-2 subdivision (folded name)."""
    return (
        entity in _PLACES.values()
        or _stemmed_place(entity) in _country_keys()
        or is_place(entity.title())
    )


def _entity(run: list[str], claimant: str) -> str | None:
    """An entity's name (a place by the country it stands for); None for the claimant."""
    words = [w for w in run if w not in TITLE_WORDS and _keep(w)]
    name = " ".join(words)
    if not words or name == claimant:
        return None
    if claimant and set(words) <= set(claimant.split()) and not _known_place(name):
        return None  # part of the claimant's name ("Texas Department" of ...), unless a
        # place ("The U.S. economy added ..., the U.S. Bureau of Labor Statistics said")
    return _PLACES.get(name, _ALIASES.get(name, name))


def _stemmed_place(entity: str) -> str:
    """A country and its adjective meet: "North Korean" and "North Korea" -> "north korea"."""
    return " ".join(w[:5] if len(w) > 5 else w for w in entity.split())


def _tagged(entity: str, previous: str, *, agent: bool) -> str:
    if previous in _TO:
        return f"to:{entity}"
    if previous in _FROM or (agent and previous not in _TO):
        return f"from:{entity}"
    return entity


def _keep(word: str) -> bool:
    return (
        len(word) > 1
        and word not in _STOP
        and word not in _TIME
        and word not in REPORTING_FORMS
        and word not in PERSON_HEADS
    )


def compatible(a: Subject, b: Subject, *, same_figure: bool = False) -> bool:
    """Whether two subjects may measure the same thing: the same unit; what it counts,
    the action and the entities not different (where both say); no entity where one's
    action comes from and the other's goes; at least half the other words of the smaller
    side shared (where both have some) unless ``same_figure`` (the two give one distinctive
    value: then their words may describe it differently, "the labor force participation
    rate" and "the proportion of Americans who either have a job or are seeking one", both
    63.2 percent); and something shared besides the unit."""
    if a.measured != b.measured:
        return False
    if a.thing and b.thing and a.head not in b.thing and b.head not in a.thing:
        return False  # "85% of the world's population" and "80% of the world's land area"
    if a.action and b.action and a.action != b.action:
        return False
    if a.places and b.places and not (_share_place(a, b) and _same_scope(a, b)):
        return False
    if not _same_direction(a, b):
        return False
    if a.period and b.period and not a.period & b.period:
        return False
    if a.measure:
        return True  # "people killed", "the death toll": the measure says what is counted
    # One act ("added", not the "rose" or "stood at" any level does) by the same place.
    same_act = a.action not in {None, "change"} and a.action == b.action and _share_place(a, b)
    if (
        a.words
        and b.words
        and 2 * len(a.words & b.words) < min(len(a.words), len(b.words))
        and not same_act  # "U.S. employers added" and "the U.S. economy added" 304,000 jobs
        and not same_figure
    ):
        return False  # "unemployment rate" and "inflation" both rose: two things measured
    return bool(
        same_figure
        or _share_place(a, b)
        or (a.action is not None and a.action == b.action)
        or a.thing & b.thing
        or a.words & b.words
    )


def anchored(a: Subject, b: Subject) -> bool:
    """Whether two compatible subjects name a common entity (else only figures made close
    in time join one line: "people killed" is a different line in every disaster)."""
    return _share_place(a, b)


def _share_place(a: Subject, b: Subject) -> bool:
    """An entity of one is an entity of the other, or its words are all in it ("Texas" is
    in "West Texas", "North Korea" is not in "South Korea")."""
    return _places_shared(a.places, b.place_words)


def _places_shared(places: frozenset[str], words: tuple[frozenset[str], ...]) -> bool:
    """``_share_place`` of places and (the words of) others."""
    return any((mine := set(x.split())) <= y or y <= mine for x in places for y in words)


def _same_scope(a: Subject, b: Subject) -> bool:
    """Whether two subjects that name places count over the same area: each area (a place
    inside a country: a state, a county, a mountain) one names is among the other's places.
    A country is the widest scope, so "10 killed on Mount Everest in Nepal" and "4 cases in
    Gaines County, Texas" count a part, not the country's or the state's whole."""
    return _scopes_same(a.places, a.areas, b.places, b.areas)


def _scopes_same(
    places: frozenset[str],
    areas: frozenset[str],
    other_places: frozenset[str],
    other_areas: frozenset[str],
) -> bool:
    """``_same_scope`` of two subjects' places and areas."""
    return all(_within(x, other_places) for x in areas) and all(
        _within(y, places) for y in other_areas
    )


def _within(place: str, places: frozenset[str]) -> bool:
    words = _words(place)
    return any(words <= (other := _words(p)) or other <= words for p in places)


@functools.lru_cache(maxsize=1 << 16)
def _words(place: str) -> frozenset[str]:
    return frozenset(place.split())


# Head words of a named area that is not a country ("Mount Everest", "Gaines County").
_AREA_WORDS = wordset(
    """mount mountain mountains lake river valley island islands county province district
    region city town village coast bay gulf peninsula desert prefecture"""
)
# Subdivisions named by a bare direction ("Central", "Western" are regions somewhere) are
# far more often a plain adjective in news ("Western officials").
_DIRECTIONS = wordset(
    """north south east west central northern southern eastern western northeast northwest
    southeast southwest upper lower middle inner outer"""
)


def _area(entity: str) -> bool:
    """Whether an entity (folded) names an area inside a country: a known subdivision
    (ISO 3166-2) or a name with a geographic head word; countries and other names are not."""
    if entity in _PLACES.values() or _stemmed_place(entity) in _country_keys():
        return False
    if entity in _DIRECTIONS or part_of_speech().get(entity, "NNP") not in {"NNP", "NNPS"}:
        return False  # "Western" officials, "cork" (a common word before a place)
    return is_place(entity.title()) or bool(_AREA_WORDS & set(entity.split()))


@functools.cache
def _country_keys() -> frozenset[str]:
    """Every name of every country as a subject holds it (folded, stemmed)."""
    names = {*_PLACES.values(), *(_fold(n) for n in _country_names())}
    return frozenset(_stemmed_place(" ".join(n.split())) for n in names)


def _country_names() -> list[str]:
    names = []
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            value = getattr(country, attribute, None)
            if value:
                names += [str(value), str(value).split(",")[0]]
    return names


def _same_direction(a: Subject, b: Subject) -> bool:
    """No entity is where one side's action comes from and the other's goes."""
    return not any(
        f"to:{w[5:]}" in b.entities for w in a.entities if w.startswith("from:")
    ) and not any(f"to:{w[5:]}" in a.entities for w in b.entities if w.startswith("from:"))


# ---------------------------------------------------------------------------------------------
# Lines


def group(claims: Sequence[LineClaim]) -> list[Line]:
    """Lines of the figures of ``claims`` (in log order). Each figure joins the line that
    fits it best (``_Growing.accepts``; of equals, the one sharing most of its words, then
    the one its source added to last, then the earliest), else starts a line; a line never
    splits or merges later, so appending claims keeps every line id (``Grouper`` resumes
    from the lines of a log's first claims)."""
    grouper = Grouper()
    grouper.add(claims)
    return grouper.lines()


class Grouper:
    """The lines of the claims added so far, in log order, ready for more: adding claims in
    several calls gives the lines one ``group`` of them all gives (a figure's line depends
    only on the figures before it).

    Exactly the lines of ``ledger.lines_reference.group`` (today's rules, ranked the plain
    way), found without ranking every line that shares a (unit, word) key with a figure:
    a line can take a figure only if one of its subjects is ``compatible`` with the
    figure's, and two subjects that both name places are compatible only if they share a
    place, hence a word of one. So a figure naming places is ranked against the lines
    holding a subject that names one of its place words, or that names no place and shares
    a key word or its distinctive value with it; a line's rank then reads summaries kept as
    it grows (its dates sorted, its periods, its places and areas counted, its sources'
    last figures) instead of walking all its figures. A figure naming no place is ranked
    against every line sharing a key, as before. Cost per figure: the lines ranked, each
    O(log d) for the time span check and, if in span, a walk of its figures (lines are a
    handful of figures in practice); the worst case stays quadratic when every figure
    names no place, or all share one place, and are all made within ``SPAN_DAYS``."""

    def __init__(self) -> None:
        self._lines: list[_Growing] = []
        self._by_word: dict[tuple[str, str], list[int]] = {}  # (unit, word) -> lines holding it
        # (unit, word of a place) -> lines with a subject naming that place word
        self._by_place: dict[tuple[str, str], list[int]] = {}
        # (unit, word of a place, thing tag) -> the same, by what they count (``_thing_tags``)
        self._by_place_thing: dict[tuple[str, str, str], list[int]] = {}
        # (unit, word) -> lines with a subject naming no place and holding the word
        self._placeless: dict[tuple[str, str], list[int]] = {}
        # (unit, value, high, bound) -> lines with a subject naming no place and a figure of
        # that distinctive value (``_same_figure``: compatible whatever words they share)
        self._placeless_values: dict[tuple[str, str, str | None, str], list[int]] = {}
        self._wordless_places: dict[str, list[int]] = {}  # unit -> lines with a place of no word
        self._order = 0
        self._recent: dict[str, list[str]] = {}  # source -> its claims' texts so far
        self._named: dict[str, frozenset[str]] = {}  # source -> the countries its claims named
        self._proper: dict[str, frozenset[str]] = {}  # source -> the names its claims used
        self._before: dict[str, list[Subject]] = {}  # source -> subjects of its previous claim
        self._built: list[Line] = []  # the lines as last returned by ``lines``
        self._changed: set[int] = set()  # lines a figure joined or began since
        self.claims = 0
        """Claims added so far."""

    def add(self, claims: Iterable[LineClaim]) -> None:
        """Add claims that follow the ones added so far in log order."""
        for claim in claims:
            self._add(claim)

    def lines(self) -> list[Line]:
        """The lines so far (immutable: adding more claims later does not change them; a line
        no figure joined since the last call is the same object)."""
        self.changed_lines()
        return list(self._built)

    def changed_lines(self) -> list[Line]:
        """The lines a figure joined or began since the last call of this or ``lines``, in
        the order of their first figure (what a refresh rewrites, decision 0039)."""
        changed: list[Line] = []
        for i in sorted(self._changed):
            grown = self._lines[i]
            line = Line(
                id=grown.points[0].id,
                subject=grown.subjects[0],
                label=grown.label,
                points=tuple(sorted(grown.points, key=_when)),
            )
            if i < len(self._built):
                self._built[i] = line
            else:
                self._built.append(line)
            changed.append(line)
        self._changed.clear()
        return changed

    def _add(self, claim: LineClaim) -> None:
        self.claims += 1
        source = claim.source
        earlier = self._recent.setdefault(source, [])
        context = " ".join(earlier[-_CONTEXT_CLAIMS:])
        earlier.append(claim.text)
        del earlier[:-_CONTEXT_CLAIMS]  # only the last ones are ever read
        previous, self._before[source] = self._before.get(source, []), []
        named, proper = self._named, self._proper
        named[source] = named.get(source, frozenset()) | _countries_in(
            claim.text, _name_words(claim.claimant_name)
        )
        proper[source] = proper.get(source, frozenset()) | _names_in(claim.text) | named[source]
        lines = self._lines
        for index, quantity in enumerate(claim.quantities):
            subject = subject_of(claim, quantity, context)
            if subject is None:
                continue
            subject = _continued(claim, quantity, subject, previous)
            subject = _compared(claim, quantity, subject, self._before[source])
            self._before[source].append(subject)
            point = _point(claim, index, quantity, self._order)
            self._order += 1
            keys = [(subject.measured, w) for w in sorted(_index_words(subject))]
            days = _ordinals(point)
            ranks = [
                (lines[i].accepts(subject, point, days, named, proper), i)
                for i in self._candidates(subject, point, keys)
            ]
            best = max((rank for rank, _ in ranks), default=0)
            tied = [i for rank, i in ranks if rank == best] if best else []
            # Of lines that fit as well: the one sharing most words, then (for lines that
            # fit by time only) the one with a figure nearest in time, then the one the
            # same source added to last (a sentence goes on about the figure before it),
            # then the earliest.
            home = (
                min(
                    tied,
                    key=lambda i: (
                        -lines[i].shared(subject),
                        lines[i].days_from(days) if best == 1 else 0,
                        -lines[i].last.get(source, -1),
                        i,
                    ),
                )
                if tied
                else None
            )
            if home is None:
                home = len(lines)
                lines.append(_Growing(label=_label(claim, quantity)))
            lines[home].take(subject, point, days, keys)
            self._changed.add(home)
            self._index(home, subject, point, keys)

    def _candidates(self, subject: Subject, point: Point, keys: list[tuple[str, str]]) -> list[int]:
        """The lines sharing a key with the figure that may hold a subject compatible with
        it (every line that can rank it above 0), in line order."""
        unit = subject.measured
        if not subject.place_words or not all(subject.place_words):
            return sorted({i for key in keys for i in self._by_word.get(key, ())})
        places = sorted(frozenset[str]().union(*subject.place_words))
        if subject.thing:  # of the lines naming its places, those counting a thing it may
            wanted = [(unit, w, tag) for w in places for tag in _thing_tags(subject)]
            found = {i for key in wanted for i in self._by_place_thing.get(key, ())}
        else:
            found = {i for w in places for i in self._by_place.get((unit, w), ())}
        for key in keys:
            found.update(self._placeless.get(key, ()))
        maybe = [*self._wordless_places.get(unit, ())]
        if _significant(point.value) >= 3:
            maybe += self._placeless_values.get((unit, point.value, point.high, point.bound), ())
        found.update(i for i in maybe if not self._lines[i].keys.isdisjoint(keys))
        return sorted(found)

    def _index(
        self, home: int, subject: Subject, point: Point, keys: list[tuple[str, str]]
    ) -> None:
        unit = subject.measured
        _append_all(self._by_word, keys, home)
        if subject.place_words:
            places = sorted(frozenset[str]().union(*subject.place_words))
            _append_all(self._by_place, [(unit, w) for w in places], home)
            tags = _thing_tags(subject, indexed=True)
            _append_all(self._by_place_thing, [(unit, w, t) for w in places for t in tags], home)
            if not all(subject.place_words):
                _append(self._wordless_places.setdefault(unit, []), home)
        else:
            _append_all(self._placeless, keys, home)
            if _significant(point.value) >= 3:
                value = (unit, point.value, point.high, point.bound)
                _append(self._placeless_values.setdefault(value, []), home)


def _thing_tags(subject: Subject, *, indexed: bool = False) -> list[str]:
    """Thing tags: a subject is ``compatible`` with one that says what its unit counts
    only if it says nothing of it (tag ""), or counts that one's head ("in:<thing>" for
    each thing it counts), or its head is among what that one counts ("head:<head>").
    ``indexed``: the tags a subject is found by; else the tags a subject that counts a
    thing looks for."""
    if indexed:
        if not subject.thing:
            return [""]
        return [*(f"in:{t}" for t in sorted(subject.thing)), f"head:{subject.head}"]
    return ["", f"in:{subject.head}", *(f"head:{t}" for t in sorted(subject.thing))]


def _append_all(index: dict[_K, list[int]], keys: Iterable[_K], line: int) -> None:
    for key in keys:
        _append(index.setdefault(key, []), line)


def _append(held: list[int], line: int) -> None:
    """Add a line to an index entry (lines come in increasing order, or again)."""
    if not held or held[-1] != line:
        held.append(line)


_K = TypeVar("_K", bound=tuple[str, ...])


_CONTEXT_CLAIMS = 2

# A sentence whose subject is a demonstrative pronoun goes on about the figure before it:
# "That was less than the 312,000 first reported", "This is up from 5.1 percent".
_DEMONSTRATIVE = re.compile(
    r"(?:That|This|It)(?:['’]s\b|\s+(?:was|is|were|are|had been|has been|would be|marks|marked"
    r"|compares|compared|represents|represented|remains|remained)\b)"
)


def _continued(
    claim: LineClaim, quantity: Quantity, subject: Subject, previous: list[Subject]
) -> Subject:
    """The subject of a figure in a sentence that opens with a demonstrative ("That was
    less than the blockbuster 312,000 first reported"): the subject of the figure of the
    same unit in the source's claim just before (the last one if several), with the
    months its own clause names, if any. Its own words say how it compares ("less",
    "blockbuster"), not what it measures. A clause naming an entity keeps its subject."""
    opening = _DEMONSTRATIVE.match(claim.text)
    if opening is None or subject.entities:
        return subject
    at = locate(claim.text, quantity.text)
    if clause_around(claim.text, at, at + len(quantity.text))[0] > opening.end():
        return subject  # the figure is in a later clause of the sentence
    same = [s for s in previous if s.unit == subject.unit and s.measure == subject.measure]
    if not same:
        return subject
    return replace(same[-1], period=subject.period or same[-1].period)


"""How many of a source's claims before a figure's "the party" may name the party."""

# "850 people unaccounted for, down from estimates of about 1,000": the figure after "down
# from"/"up from" is an earlier value of what the figure before it measures.
_COMPARED_FROM = re.compile(
    r"\b(?:down|up)\s+from\s+(?:[a-z]+\s+){0,4}?"
    r"(?:(?:about|around|nearly|almost|some|roughly|more than|at least|over)\s+)?$"
)


def _compared(
    claim: LineClaim, quantity: Quantity, subject: Subject, earlier: list[Subject]
) -> Subject:
    """The subject of a figure that a sentence gives as the earlier value of its figure
    before it ("an estimated 850 people unaccounted for, down from about 1,000"): that
    figure's subject (the last of the same unit or measure in the claim so far)."""
    at = locate(claim.text, quantity.text)
    if at < 0 or not _COMPARED_FROM.search(claim.text[:at]):
        return subject
    same = [s for s in earlier if s.unit == subject.unit or s.measured == subject.measured]
    return replace(same[-1], period=subject.period or same[-1].period) if same else subject


@dataclass
class _Growing:
    label: str
    subjects: list[Subject] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    dates: list[int] = field(default_factory=list)
    """Every date (made, published) of the line's figures as day ordinals, sorted."""
    periods: set[frozenset[str]] = field(default_factory=set)
    """The periods its subjects name (non-empty ones)."""
    yearless: int = 0
    """Subjects naming no year."""
    scopes: dict[tuple[frozenset[str], frozenset[str]], int] = field(default_factory=dict)
    """(places, areas) of subjects naming places -> how many."""
    last: dict[str, int] = field(default_factory=dict)
    """Source -> the log order of the line's last figure from it."""
    vocab: set[str] = field(default_factory=set)
    """The words and things its subjects say."""
    keys: set[tuple[str, str]] = field(default_factory=set)
    """The (unit, word) keys it is found by."""

    def take(
        self, subject: Subject, point: Point, days: list[int], keys: list[tuple[str, str]]
    ) -> None:
        """Add a figure (``days``: its dates as ordinals)."""
        self.subjects.append(subject)
        self.points.append(point)
        for day in days:
            bisect.insort(self.dates, day)
        if subject.period:
            self.periods.add(subject.period)
        self.yearless += not subject.years
        if subject.places:
            scope = (subject.places, subject.areas)
            self.scopes[scope] = self.scopes.get(scope, 0) + 1
        self.last[point.source] = point.order
        self.vocab |= subject.words | subject.thing
        self.keys.update(keys)

    def accepts(
        self,
        subject: Subject,
        point: Point,
        days: list[int],
        countries: dict[str, frozenset[str]],
        names: dict[str, frozenset[str]],
    ) -> int:
        """How well a figure fits: 2 if compatible with one of the line's figures and naming
        a common entity, 1 if compatible with one made within ``NEAR_DAYS`` of it, else 0;
        0 too for a line of another period, one none of whose figures was made or published
        within ``SPAN_DAYS`` of it, or (for a figure naming places) one at least half of
        whose figures name other places or areas. A figure is never compatible with a
        figure of a source that named only other countries than its own source
        (``countries``: source -> the countries its claims named so far, this one's
        included); nor, without a common entity in the two figures' clauses, with one
        whose source used none of the names its own source used (``names``: source -> the
        names its claims used so far). Ties: see ``group``."""
        if days and self.dates and _nearest(self.dates, days) > SPAN_DAYS:
            return 0  # years apart: "Labor won 77 seats" in 2022 is no point of a 2024 line
        if subject.period and any(not period & subject.period for period in self.periods):
            return 0  # a line is one period's figure: January's and December's are two lines
        if (subject.years or not self.yearless) and all(
            _other_years(subject, point, s, p)
            for s, p in zip(self.subjects, self.points, strict=True)
        ):
            return 0  # "they won just 156 seats" in 1906 is no point of a 2024 line
        if any(_known_place(place) for place in subject.places):
            elsewhere = sum(
                count
                for (places, areas), count in self.scopes.items()
                if not (
                    _places_shared(places, subject.place_words)
                    and _scopes_same(places, areas, subject.places, subject.areas)
                )
            )
            if 2 * elsewhere >= len(self.subjects):
                return 0  # half the line's figures are about another place
        rank = 0
        mine, used = countries[point.source], names[point.source]
        # The sources already on the line report one event: a name shared with any of them
        # says the figure's source reports it too.
        on_line = any(used & names[source] for source in self.last)
        for s, p in zip(self.subjects, self.points, strict=True):
            if not _same_countries(countries[p.source], mine):
                continue  # one source is about Libya, the other about Morocco
            if compatible(s, subject, same_figure=_same_figure(p, point)):
                if anchored(s, subject):
                    return 2
                if _near(p, point) and (on_line or _common_name(names[p.source], used)):
                    rank = 1  # near in time, and the sources name a common thing
        return rank

    def days_from(self, days: list[int]) -> int:
        """Days between the figure (its dates as ordinals) and the line's figure nearest it
        in time (made or published); a large number when either is undated."""
        return _nearest(self.dates, days)

    def shared(self, subject: Subject) -> int:
        """How many of the figure's words and things the line's figures say too."""
        return len((subject.words | subject.thing) & self.vocab)


def _ordinals(point: Point) -> list[int]:
    """A figure's dates (made, published) as day ordinals."""
    return sorted({_ordinal(d) for d in (point.made_on, point.published) if d})


@functools.lru_cache(maxsize=4096)
def _ordinal(day: str) -> int:
    return dt.date.fromisoformat(day).toordinal()


def _nearest(dates: list[int], days: list[int]) -> int:
    """The fewest days between one of ``days`` and one of the sorted ``dates`` (``_FAR``
    when either is empty)."""
    best = _FAR
    for day in days:
        at = bisect.bisect_left(dates, day)
        if at < len(dates):
            best = min(best, dates[at] - day)
        if at:
            best = min(best, day - dates[at - 1])
    return best


NEAR_DAYS = 62
SPAN_DAYS = 183
"""A line never bridges half a year without a figure: a figure joins a line only if one
of its figures was made or published within this many days of it, whatever they share
(the dev set's gold lines go at most 49 days between points, the written story of
container shipments 137; a party's seats or a country's growth rate reported years apart
are two lines, not one)."""


def _same_countries(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sources may be about one thing: one names no country, or they name a
    common one ("Korea" is in "North Korea")."""
    return not a or not b or not a.isdisjoint(b) or any(_within(x, b) for x in a)


def _common_name(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sources may report one event: one uses no name, or they share one."""
    return not a or not b or bool(a & b)


def _same_figure(a: Point, b: Point) -> bool:
    """Whether two figures give one value precise enough not to meet by chance: the same
    value and bound with three significant digits or more ("63.2", "304,000"; not "4" or
    "170,000")."""
    return (a.value, a.high, a.bound) == (b.value, b.high, b.bound) and _significant(a.value) >= 3


def _significant(value: str) -> int:
    """Significant digits of a decimal string: "63.2" 3, "304000" 3, "0.05" 1."""
    digits = value.lstrip("-").replace(".", "").lstrip("0")
    return len(digits.rstrip("0")) if "." not in value else len(digits)


def _other_years(a: Subject, a_point: Point, b: Subject, b_point: Point) -> bool:
    """Whether two figures are about different years: both clauses name years and none in
    common, or one names years more than a year away from when the other was made (a story
    running over New Year keeps its line: "sent 1,000 containers", said in October, and
    "7,000", said in March)."""
    if a.years and b.years:
        return not a.years & b.years
    named, other = (a.years, b_point) if a.years else (b.years, a_point)
    day = other.made_on or other.published
    if not named or not day:
        return False
    return all(abs(year - int(day[:4])) > 1 for year in named)


def _dated(point: Point) -> bool:
    return bool(point.made_on or point.published)


def _near(a: Point, b: Point, days: int = NEAR_DAYS) -> bool:
    """Made, or published, within ``days`` of each other (a date made read wrongly does
    not keep a point off the line its source's date puts it near)."""
    return _days_apart(a, b) <= days


_FAR = 1_000_000


def _days_apart(a: Point, b: Point) -> int:
    """The fewest days between a date (made or published) of one and one of the other."""
    days_a = {d for d in (a.made_on, a.published) if d}
    days_b = {d for d in (b.made_on, b.published) if d}
    return min(
        (
            abs((dt.date.fromisoformat(x) - dt.date.fromisoformat(y)).days)
            for x in days_a
            for y in days_b
        ),
        default=_FAR,
    )


def _countries_in(text: str, claimant: str) -> frozenset[str]:
    """The countries a claim's sentence names (folded and stemmed as subjects hold them:
    "Moroccan" and "Morocco" -> "moroc"), in its capitalised runs or any part of one up to
    three words ("the Libyan Red Crescent" names Libya). A source's claims together say
    which countries it is about: a figure whose clause names none ("At least 2,300 have
    been killed") is still a figure of that source's country, and two sources that name
    only different countries are not reporting the same count."""
    found: set[str] = set()
    tokens = _tokens(text)
    i = 0
    while i < len(tokens):
        if not tokens[i].capital:
            i += 1
            continue
        start = i
        while i + 1 < len(tokens) and tokens[i + 1].capital:
            i += 1
        run = [t.word for t in tokens[start : i + 1]]
        for size in range(1, min(3, len(run)) + 1):
            for at in range(len(run) - size + 1):
                name = " ".join(run[at : at + size])
                if name != claimant and _keep(run[at]):
                    country = _country_named(name)
                    if country is not None:
                        found.add(_stemmed_place(country))
        i += 1
    return frozenset(found)


def _names_in(text: str) -> frozenset[str]:
    """The words of the names a sentence uses (capitalised, not opening it; no titles,
    organisation or person nouns, months or other common words): what its source is
    about ("Derna", "Marrakech", "Labour"). Two sources that use no common name are not
    reporting one event, however close in time."""
    tokens = _tokens(text)
    return frozenset(
        _stemmed_place(t.word)
        for t in tokens[1:]
        if t.capital
        and _keep(t.word)
        and t.word not in TITLE_WORDS
        and t.word not in _ORGANIZATION_HEADS
        and part_of_speech().get(t.word, "NNP") in {"NNP", "NNPS"}
    )


_DEMONYM_ENDINGS = ("", "n", "an", "ian", "ean", "ese", "i", "ish")
# Adjectives of countries that are not their name with an ending.
_IRREGULAR_DEMONYMS = {
    "british": "uk", "english": "uk", "scottish": "uk", "welsh": "uk", "french": "france",
    "dutch": "netherlands", "swiss": "switzerland", "greek": "greece", "american": "us",
    "filipino": "philippines", "thai": "thailand", "danish": "denmark", "swedish": "sweden",
    "finnish": "finland", "polish": "poland", "spanish": "spain", "portuguese": "portugal",
    "irish": "ireland", "icelandic": "iceland", "afghan": "afghanistan",
}  # fmt: skip


def _country_named(name: str) -> str | None:
    """The country a folded name names: a country's name ("libya", "north korea", a
    capital standing for it) or its adjective, the name (less a final vowel) with a
    demonym ending ("libyan", "moroccan", "nepalese", "iraqi"); not any word that merely
    begins alike ("liberal" is not Liberia)."""
    place = _PLACES.get(name, _IRREGULAR_DEMONYMS.get(name, name))
    if place in _country_names_folded():
        return place
    words = place.split()
    for ending in _DEMONYM_ENDINGS:
        if words[-1].endswith(ending) and len(words[-1]) > len(ending) + 2:
            stem = " ".join([*words[:-1], words[-1][: len(words[-1]) - len(ending)]])
            for country in _country_stems().get(stem, ()):
                return country
    return None


@functools.cache
def _country_names_folded() -> frozenset[str]:
    return frozenset({*_PLACES.values(), *(" ".join(_fold(n).split()) for n in _country_names())})


@functools.cache
def _country_stems() -> dict[str, tuple[str, ...]]:
    """A country's name less a final vowel ("liby", "morocc"), and whole, -> the name."""
    stems: dict[str, tuple[str, ...]] = {}
    names = {n: n for n in _country_names_folded()} | _PLACES
    for name, country in sorted(names.items()):
        for stem in sorted({name, name.rstrip("aeiouy")}):
            if len(stem) > 2:
                stems[stem] = (*stems.get(stem, ()), country)
    return stems


def _index_words(subject: Subject) -> set[str]:
    """What a line is found by: every part of a subject that can make two compatible."""
    places = {word for place in subject.places for word in place.split()}
    return {*places, *subject.thing, *subject.words, subject.action or ""}


def _point(claim: LineClaim, index: int, quantity: Quantity, order: int) -> Point:
    return Point(
        id=f"{claim.claim_id}:{index}",
        claim_id=claim.claim_id,
        value=quantity.value,
        high=quantity.high,
        bound=quantity.bound,
        unit=quantity.unit or "",
        text=quantity.text,
        claimant=claim.claimant,
        claimant_name=claim.claimant_name or claim.claimant_label,
        source=claim.source,
        made_on=claim.made_on,
        made_on_precision=claim.made_on_precision,
        published=claim.published,
        order=order,
    )


def _label(claim: LineClaim, quantity: Quantity) -> str:
    at = locate(claim.text, quantity.text)
    left, right = clause_around(claim.text, at, at + len(quantity.text))
    return " ".join(claim.text[left:right].split())


def _when(point: Point) -> tuple[bool, str, int]:
    """Date made, else the source's publication date (undated points last), then log order."""
    day = point.made_on or point.published
    return (day is None, day or "", point.order)
