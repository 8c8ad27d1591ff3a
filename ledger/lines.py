"""Claim lines: the same measured thing followed across sources and time.

Pure and deterministic. A figure's *subject* is what it measures: the unit's head noun
("containers"), what the unit is of ("of weapons"), and the content words of the clause
around it, with entities tagged by their part ("from" North Korea, "to" Russia) and
predicates folded across synonyms (sent/shipped/dispatched -> send). Figures whose
subjects agree form one line, ordered by the date the claim was made, then log order.
docs/decisions/0009 explains the rules and their limits.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.extract.cues import MONTHS, REPORTING_FORMS, WEEKDAYS, wordset
from ledger.extract.model import Bound, Precision, Quantity
from ledger.extract.roles import PERSON_HEADS, TITLE_WORDS
from ledger.identity import british_american

RULES_VERSION = "1"


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
    entities: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """The subject as one deterministic string."""
        thing = f" of {' '.join(sorted(self.thing))}" if self.thing else ""
        parts = [*sorted(self.entities), *([self.action] if self.action else [])]
        return f"{self.unit}{thing} | {' '.join(parts)} | {' '.join(sorted(self.words))}"

    @property
    def places(self) -> frozenset[str]:
        """The entities without their direction tags."""
        return frozenset(e.split(":", 1)[-1] for e in self.entities)


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

_STOP = wordset(
    """a an the of and or to in on at for from by with as than that which who whom whose is
    are was were be been being has have had do does did will would could may might can shall
    should must this these those it its their his her our they them he she we i you there
    here not no nor but so if then also about approximately around roughly nearly almost some
    estimated close more over least up fewer less upwards many much total totaling totalling
    including such other into onto since until after before during while when where what
    just only even still yet already now new latest further additional another each all both
    any most very own per cent percent number numbers figure figures amount estimate
    according mr mrs ms dr"""
)
_TIME = (
    frozenset(MONTHS)
    | frozenset(WEEKDAYS)
    | wordset(
        """year years month months week weeks day days today yesterday tomorrow ago last next
        earlier later recently previously currently time times period quarter quarters"""
    )
)
_TO = wordset("to into toward towards for")
_FROM = wordset("from by")
_ENDS_THING = _TO | _FROM | frozenset(_PREDICATE_OF) | wordset("in on at since over with")
_LEFT_BOUNDARY = re.compile(r"(?:[;:—(]|,\s|\bthat\b|\bwhile\b)", re.IGNORECASE)
_RIGHT_BOUNDARY = re.compile(r"(?:[;:—)]|,\s|\bwhile\b|\bwhich\b)", re.IGNORECASE)
# Reporting verbs that end the attribution before a clause ("officials said North Korea
# sent ..."); "added", "reported" and "estimated" are left out: they are as often the
# predicate of the figure itself ("the economy added 304,000 jobs").
_SPEECH_BOUNDARY = frozenset(REPORTING_FORMS) - wordset(
    """add adds added adding report reports reported reporting estimate estimates estimated
    estimating"""
)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")
_CAPITAL = re.compile(r"[A-Z]")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.replace("’", "'").removesuffix("'s").removesuffix("'")
    return british_american(plain.replace(".", ""))


def singular(word: str) -> str:
    """A plural noun's singular by spelling alone ("containers" -> "container",
    "casualties" -> "casualty", "losses" -> "loss")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


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
    return (
        words[-1] if words[-1] in {"percent", "points"} or unit.isupper() else singular(words[-1])
    )


# ---------------------------------------------------------------------------------------------
# Subjects


def clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause of ``text`` holding ``text[start:end]``: from the last boundary before it
    (a comma and space, "that", a reporting verb, a semicolon...) to the first after it."""
    left = 0
    for match in _LEFT_BOUNDARY.finditer(text, 0, start):
        left = match.end()
    for match in _TOKEN.finditer(text, left, start):
        if _fold(match.group()) in _SPEECH_BOUNDARY:
            left = match.end()
    right = len(text)
    found = _RIGHT_BOUNDARY.search(text, end)
    if found is not None:
        right = found.start()
    return left, right


def subject_of(claim: LineClaim, quantity: Quantity) -> Subject | None:
    """The subject of one figure of ``claim``; None when the figure has no unit or its words
    are not in the claim's text."""
    if quantity.unit is None:
        return None
    at = claim.text.find(quantity.text)
    if at < 0:
        return None
    left, right = clause_around(claim.text, at, at + len(quantity.text))
    unit = unit_head(quantity.unit)
    before = _tokens(claim.text[left:at])
    after = _tokens(claim.text[at + len(quantity.text) : right])
    thing, after = _complement(after)
    skip = _name_words(claim.claimant_name)
    entities, words = _content(before, skip, agent=True, opens=left == 0)
    more_entities, more_words = _content(after, skip, agent=False, opens=False)
    return Subject(
        unit=unit,
        thing=thing,
        action=_nearest_action(before, after),
        entities=frozenset(entities | more_entities),
        words=frozenset((words | more_words) - {unit} - set(_PREDICATES)),
    )


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
    return [
        _Token(_fold(m.group()), bool(_CAPITAL.match(m.group())))
        for m in _TOKEN.finditer(text)
        if not m.group()[0].isdigit()
    ]


def _complement(after: list[_Token]) -> tuple[frozenset[str], list[_Token]]:
    """What the unit counts: "(containers) of weapons and ammunition" -> {weapon}; the rest."""
    if not after or after[0].word != "of":
        return frozenset(), after
    thing: list[str] = []
    rest = after[1:]
    while rest and not rest[0].capital and rest[0].word not in _ENDS_THING:
        word = rest[0].word
        if word not in _STOP and word not in _TIME:
            thing.append(_stem(word))
        rest = rest[1:]
    return frozenset(thing), rest


def _name_words(name: str | None) -> str:
    return " ".join(_fold(w) for w in (name or "").split())


def _content(
    tokens: list[_Token], claimant: str, *, agent: bool, opens: bool
) -> tuple[set[str], set[str]]:
    """Entities and other content words of one side of the figure. An entity run becomes
    one tagged word: before the figure an entity is where the action comes from, after "to"
    where it goes. A lone capitalized word opening the sentence is an entity only if it is
    a known place."""
    entities: set[str] = set()
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
            elif entity is not None:
                out.add(_stem(token.word))
        elif _keep(token.word) and token.word not in claimant.split():
            out.add(_stem(token.word))
        i += 1
    return entities, out


def _entity(run: list[str], claimant: str) -> str | None:
    """An entity's name (a place by the country it stands for); None for the claimant."""
    words = [w for w in run if w not in TITLE_WORDS and _keep(w)]
    name = " ".join(words)
    if not words or name == claimant:
        return None
    return _PLACES.get(name, name)


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


def compatible(a: Subject, b: Subject) -> bool:
    """Whether two subjects may measure the same thing: the same unit; what it counts,
    the action and the entities not different (where both say); no entity where one's
    action comes from and the other's goes; at least half the other words of the smaller
    side shared (where both have some); and something shared besides the unit."""
    if a.unit != b.unit:
        return False
    if a.thing and b.thing and not a.thing & b.thing:
        return False
    if a.action and b.action and a.action != b.action:
        return False
    if a.places and b.places and not _share_place(a, b):
        return False
    if not _same_direction(a, b):
        return False
    if a.words and b.words and 2 * len(a.words & b.words) < min(len(a.words), len(b.words)):
        return False  # "unemployment rate" and "inflation" both rose: two things measured
    return bool(
        _share_place(a, b)
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
    return any(
        set(x.split()) <= set(y.split()) or set(y.split()) <= set(x.split())
        for x in a.places
        for y in b.places
    )


def _same_direction(a: Subject, b: Subject) -> bool:
    """No entity is where one side's action comes from and the other's goes."""
    return not any(
        f"to:{w[5:]}" in b.entities for w in a.entities if w.startswith("from:")
    ) and not any(f"to:{w[5:]}" in a.entities for w in b.entities if w.startswith("from:"))


# ---------------------------------------------------------------------------------------------
# Lines


def group(claims: Sequence[LineClaim]) -> list[Line]:
    """Lines of the figures of ``claims`` (in log order). Each figure joins the earliest line
    holding a figure whose subject is compatible with its own, else starts a line; a line
    never splits or merges later, so appending claims keeps every line id."""
    lines: list[_Growing] = []
    by_word: dict[tuple[str, str], list[int]] = {}  # (unit, word) -> lines holding it
    order = 0
    for claim in claims:
        for index, quantity in enumerate(claim.quantities):
            subject = subject_of(claim, quantity)
            if subject is None:
                continue
            point = _point(claim, index, quantity, order)
            order += 1
            keys = [(subject.unit, w) for w in sorted(_index_words(subject))]
            candidates = sorted({i for key in keys for i in by_word.get(key, ())})
            home = next((i for i in candidates if lines[i].accepts(subject, point)), None)
            if home is None:
                home = len(lines)
                lines.append(_Growing(subjects=[], points=[], label=_label(claim, quantity)))
            lines[home].subjects.append(subject)
            lines[home].points.append(point)
            for key in keys:
                held = by_word.setdefault(key, [])
                if not held or held[-1] != home:
                    held.append(home)
    return [
        Line(
            id=grown.points[0].id,
            subject=grown.subjects[0],
            label=grown.label,
            points=tuple(sorted(grown.points, key=_when)),
        )
        for grown in lines
    ]


@dataclass
class _Growing:
    subjects: list[Subject]
    points: list[Point]
    label: str

    def accepts(self, subject: Subject, point: Point) -> bool:
        """A figure joins if compatible with one of the line's figures, and either names a
        common entity or was made within ``NEAR_DAYS`` of it."""
        return any(
            compatible(s, subject) and (anchored(s, subject) or _near(p, point))
            for s, p in zip(self.subjects, self.points, strict=True)
        )


NEAR_DAYS = 31


def _near(a: Point, b: Point) -> bool:
    day_a, day_b = a.made_on or a.published, b.made_on or b.published
    if day_a is None or day_b is None:
        return False
    gap = dt.date.fromisoformat(day_a) - dt.date.fromisoformat(day_b)
    return abs(gap.days) <= NEAR_DAYS


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
        claimant_name=claim.claimant_name,
        source=claim.source,
        made_on=claim.made_on,
        made_on_precision=claim.made_on_precision,
        published=claim.published,
        order=order,
    )


def _label(claim: LineClaim, quantity: Quantity) -> str:
    at = claim.text.find(quantity.text)
    left, right = clause_around(claim.text, at, at + len(quantity.text))
    return " ".join(claim.text[left:right].split())


def _when(point: Point) -> tuple[bool, str, int]:
    """Date made, else the source's publication date (undated points last), then log order."""
    day = point.made_on or point.published
    return (day is None, day or "", point.order)
