"""Resolves mentions across an article to claimants: "Shin", "the minister", "he" -> one person.

Pronouns and definite descriptions resolve by kind: "he"/"she" to the last person, "it" to
the last organisation or document, "the agency" to the last organisation called an agency,
"the report" to the last report named.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.extract.cues import wordset
from ledger.extract.mentions import Mention
from ledger.extract.model import Cited, Claimant, SourceKind
from ledger.extract.places import is_place
from ledger.extract.roles import (
    HONORIFICS,
    ORGANIZATION_HEADS,
    TITLE_ABBREVIATIONS,
    TITLE_WORDS,
)

UNATTRIBUTED = Claimant(name=None, role=None, affiliation=None)
# Organisation heads so generic that any organisation named before may be meant.
_GENERIC_BODIES = wordset(
    """company firm group organization organisation agency body authority institute service
    department office"""
)
# Bodies spoken of as a group of people rather than by a name: "the government said" keeps
# "government" as a role, while "the health ministry said" names the ministry.
_COLLECTIVE_BODIES = wordset(
    """government governments authorities media tv television press police military army
    forces regime junta officials"""
)
_SENTENCE_END = re.compile(r"[.!?][\"”’']?\s+(?=[A-Z\"“‘'])|\n\s*\n")
_OPENERS = frozenset({"", "The", "the"})
_ACRONYM_SKIP = frozenset({"of", "and", "the", "for", "on", "in", "&"})


@dataclass(kw_only=True)
class _Entity:
    """One person, body or document of the article, enriched by every mention linked to it."""

    name: str | None
    role: str | None = None
    affiliation: str | None = None
    kind: SourceKind | None = None
    article: bool = False
    positions: list[int] = field(default_factory=list)

    def absorb(self, mention: Mention) -> None:
        """Take the role and affiliation a mention adds (a longer compatible role wins)."""
        bisect.insort(self.positions, mention.start)
        if mention.role and (self.role is None or _extends(mention.role, self.role)):
            self.role = mention.role
        if mention.affiliation and self.affiliation is None:
            self.affiliation = mention.affiliation
        named_person = mention.kind == "person" and mention.name is not None
        if mention.kind is not None and not mention.pronoun and (self.kind is None or named_person):
            self.kind = mention.kind
        self.article = self.article or (mention.article and mention.name == self.name)

    def claimant(self) -> Claimant:
        """The entity as a claimant; an unnamed document or body is named by what it is
        ("military intelligence report", "health ministry")."""
        named_by_role = self.kind == "document" or (
            self.kind == "organization" and _head(self.role or "x") not in _COLLECTIVE_BODIES
        )
        if self.name is None and self.role is not None and named_by_role:
            return Claimant(name=self.role, role=None, affiliation=self.affiliation, kind=self.kind)
        return Claimant(
            name=self.name, role=self.role, affiliation=self.affiliation, kind=self.kind
        )


class ClaimantIndex:
    """Resolves every mention of one article; build it once from all mentions, in order."""

    def __init__(self, mentions: Sequence[Mention], text: str = "") -> None:
        self._text = text
        self._mentions = sorted(mentions, key=lambda m: m.start)
        self._entities: dict[str, _Entity] = {}
        self._by_word: dict[str, list[_Entity]] = {}
        self._links: dict[Mention, _Entity] = {}
        self._aliases: dict[str, _Entity] = {}
        self._initials: dict[str, _Entity] | None = None  # built on the first acronym
        self._first_words: list[tuple[str, _Entity]] | None = None  # built on the first clip
        # "the agency" matched by role: used when no body named earlier fits better
        self._forward: dict[Mention, _Entity] = {}
        self._link_full_names()
        self._merge_longer_names()
        self._link_short_names()
        self._link_documents()
        self._link_roles()
        self._link_bodies()
        self._link_pronouns()

    def claimant(self, mention: Mention) -> Claimant:
        """The claimant a mention refers to; role-only when no name is known."""
        entity = self._links.get(mention)
        if entity is not None:
            return entity.claimant()
        if mention.pronoun:
            return UNATTRIBUTED
        return _Entity(
            name=mention.name, role=mention.role, affiliation=mention.affiliation, kind=mention.kind
        ).claimant()

    def cited(self, mention: Mention) -> Cited:
        """What a claimant cites, resolved like a claimant."""
        claimant = self.claimant(mention)
        return Cited(
            name=claimant.name,
            role=claimant.role,
            affiliation=claimant.affiliation,
            kind=claimant.kind,
        )

    def label(self, mention: Mention, text: str) -> str:
        """How a statement names the speaker: "the Pentagon", "Shin Won-shik", "he"."""
        entity = self._links.get(mention)
        if entity is None or entity.name is None:
            words = text[mention.start : mention.end]
            before = text[max(0, mention.start - 4) : mention.start].lower().split()
            if mention.name is None and before and before[-1] in ("a", "an", "the"):
                return f"{before[-1]} {words}"  # "a Labor Department report"
            return words
        return f"the {entity.name}" if entity.article and entity.kind != "person" else entity.name

    def _link_full_names(self) -> None:
        """Multi-word names, and names given with a role, are entities of their own."""
        for mention in self._mentions:
            if mention.affiliation and mention.kind in ("document", "organization"):
                body = self._entity(mention.affiliation)  # "a Defense Intelligence Agency report"
                body.kind = body.kind or "organization"
                owner = _owner(mention.affiliation)
                if owner is not None:  # "the office of Rep. Kang Dae-sik": Kang is named too
                    person = self._entity(owner)
                    person.kind = person.kind or "person"
                    bisect.insort(person.positions, mention.start)
            if mention.name and (len(mention.name.split()) > 1 or mention.role):
                self._link(mention, self._entity(mention.name))

    def _merge_longer_names(self) -> None:
        """A name that ends a longer one is the same entity, under the fullest form the
        article gives: "Bureau of Labor Statistics" is "U.S. Bureau of Labor Statistics",
        "Kennedy Jr." is "Robert F. Kennedy Jr."; "USGS" after "U.S. Geological Survey
        (USGS)" or with the same initials is the survey."""
        longest: dict[str, str] = {}  # a tail of two or more words -> the longest name
        for name in sorted(self._entities, key=len, reverse=True):
            words = name.split()
            if not name[:1].isupper():
                continue  # "office of Rep. Kang Dae-sik" is his office, not Kang
            for cut in range(1, len(words) - 1):
                longest.setdefault(" ".join(words[cut:]), name)
        for mention, entity in list(self._links.items()):
            longer = longest.get(entity.name or "")
            if longer is not None and longer != entity.name:
                self._link(mention, self._entities[longer])
        for first, second in itertools.pairwise(self._mentions):
            between = self._text[first.end : second.start]
            if between != " (" or not second.name:
                continue
            if first.name and first in self._links:
                self._aliases[second.name] = self._links[first]
            elif (
                first.kind == "document"
                and first.affiliation in self._entities
                and self._text[first.start : first.end].endswith(first.affiliation or "")
            ):  # "data from the Health Department (HD)": HD is the department
                self._aliases[second.name] = self._entities[first.affiliation or ""]
            elif first.name is None and first.kind == "organization":
                # "Cyprus' statistical service (Cystat)": the body's name is in parentheses
                self._link(first, self._entity(second.name))

    def _link_short_names(self) -> None:
        """A one-word name is a part of a known full name ("Shin"), else its own entity;
        an acronym is the body it abbreviates."""
        for mention in self._mentions:
            if mention.name is None or mention in self._links:
                continue
            entity = (
                self._aliases.get(mention.name)
                or self._acronym(mention.name)
                or self._clipped(mention)
            )
            if entity is None and (mention.kind != "organization" or mention.article):
                # a surname is part of a person's name, "the Observatory" of a body's name;
                # "SpaceX" (named as a company) is not "SpaceX Crew Dragon"
                entity = _nearest(self._by_word.get(mention.name, []), mention.start)
            if entity is None:
                entity = self._entity(mention.name)
            self._link(mention, entity)

    def _clipped(self, mention: Mention) -> _Entity | None:
        """The body a clipped name stands for, named earlier: "the Fed" after "the US
        Federal Reserve" (the clip begins the first word after any place name)."""
        name = mention.name or ""
        if not mention.article or " " in name or len(name) < 3 or not name.istitle():
            return None
        if self._first_words is None:  # built once: (first word, entity), sorted
            self._first_words = []
            for entity in self._entities.values():
                words = (entity.name or "").split()
                while len(words) > 1 and is_place(words[0].rstrip(".")):
                    words = words[1:]
                if len(words) > 1 and entity.kind == "organization":
                    self._first_words.append((words[0], entity))
            self._first_words.sort(key=_first)
        index = bisect.bisect_right(self._first_words, name, key=_first)  # past the name itself
        while index < len(self._first_words) and self._first_words[index][0].startswith(name):
            entity = self._first_words[index][1]
            if entity.positions and entity.positions[0] < mention.start:
                return entity
            index += 1
        return None

    def _acronym(self, name: str) -> _Entity | None:
        """The entity whose capitalised words' initials spell ``name`` ("USGS", "Nasa")."""
        letters = name.replace(".", "").upper()
        if len(letters) < 2 or " " in name or not letters.isalpha():
            return None
        if self._initials is None:
            self._initials = {}
            for entity in self._entities.values():
                for initials in _initials(entity.name or ""):
                    self._initials.setdefault(initials, entity)
        return self._initials.get(letters)

    def _link_documents(self) -> None:
        """ "a report by the agency" starts a document; "the report" is the last one like it."""
        documents: list[tuple[int, _Entity]] = []
        for mention in self._mentions:
            if mention.name or mention.role is None or mention.kind != "document":
                continue
            found = None
            if self._definite(mention) and mention.affiliation is None:
                found = _nearest_compatible(documents, mention, earlier_only=True)
            if found is None:
                found = _Entity(name=None)
            self._link(mention, found)
            documents.append((mention.start, found))

    def _link_roles(self) -> None:
        """Link role-only mentions ("the minister") to the person with that role, nearest first."""
        timelines: dict[str, list[tuple[int, _Entity]]] = {}
        for entity in self._entities.values():
            if entity.role is not None:
                timeline = timelines.setdefault(_head(entity.role), [])
                timeline.extend((position, entity) for position in entity.positions)
        for timeline in timelines.values():
            timeline.sort(key=_position)
        previous: Mention | None = None
        for mention in self._mentions:
            before, previous = previous, mention
            if mention.name or mention.pronoun or mention.role is None or mention in self._links:
                continue
            named = self._links.get(before) if before is not None else None
            if (
                named is not None
                and before is not None
                and mention.kind == "person" == named.kind
                and named.name is not None
                and self._text[before.end : mention.start] == ", "
            ):
                # "Jane Roe, the spokesperson of the ministry did not say": an apposition
                # whose closing comma is missing
                self._link(mention, named)
                continue
            timeline = timelines.setdefault(_head(mention.role), [])
            found = _nearest_compatible(timeline, mention, text=self._text)
            if (
                mention.kind == "organization"
                and (found is not None)
                and (self._definite(mention) or found.positions[0] > mention.start)
            ):
                # "the agency" is the nearest earlier body with that word in its name or
                # its role ("the Defense Intelligence Agency" after "the statistics agency
                # IBGE"), decided with the bodies; this match is only the fallback
                self._forward[mention] = found
                found = None
            if found is None and mention.kind == "person":
                # "a senior official said ... the official said": an unnamed person
                found = _Entity(name=None)
            if found is not None:
                self._link(mention, found)
                bisect.insort(timeline, (mention.start, found), key=_position)

    def _link_bodies(self) -> None:
        """Link "the agency", "the ministry", "the company" to the last such body named."""
        bodies = _Bodies()
        described: _Entity | None = None  # the last body described but not named
        unnamed: Mention | None = None  # a body only described, no other body named since
        for mention in self._mentions:
            affiliation = mention.affiliation
            if affiliation and affiliation not in self._entities and _names_a_body(affiliation):
                self._entity(affiliation).kind = "organization"  # "officials at the Port Authority"
            if affiliation and affiliation in self._entities:
                # "the COVE study" names a study: COVE is no company "the company" can mean
                bodies.add(self._entities[affiliation], last=mention.kind != "document")
            entity = self._links.get(mention)
            if entity is not None:
                if described is not None and self._short_name_first_given(mention, entity):
                    self._rename(entity, described)  # "a monitor said ... the Observatory"
                    entity, described = described, None
                elif unnamed is not None and self._named_next(unnamed, mention, entity):
                    self._rename(entity, self._links[unnamed])  # "the alliance said. ISAF"
                    entity = self._links[unnamed]
                if entity.kind == "organization" and not mention.pronoun:
                    unnamed = None
                if entity.kind == "organization":
                    bodies.add(entity)
                continue
            if mention.name or mention.role is None or mention.kind != "organization":
                continue
            # only a bare "the agency" may mean any body; "the ambulance authority in
            # Derna" or "the rights group" describe one of their own
            bare = " " not in mention.role and mention.affiliation is None
            found = (
                bodies.last(_head(mention.role), generic=bare) if self._definite(mention) else None
            )
            found = found or self._forward.get(mention)
            if found is not None:
                self._links[mention] = found  # "the agency" adds no role to the body's name
                continue
            found = _Entity(name=None)  # "Russia's foreign ministry": a body of its own
            self._link(mention, found)
            bodies.add(found)
            if " " in mention.role and _head(mention.role) not in _COLLECTIVE_BODIES:
                unnamed = mention  # "the NATO-led military alliance": its name may follow
            if mention.affiliation is None and self._indefinite(mention):
                described = found  # "a Britain-based monitor": its name may come later

    def _short_name_first_given(self, mention: Mention, entity: _Entity) -> bool:
        """ "the Observatory", "the Commission": a function noun used as a name, first given
        here with "the" and no fuller form in the article, refers to a body described
        before ("a Britain-based monitor") rather than introducing a new one."""
        name = entity.name or ""
        return (
            mention.article
            and mention.name == name
            and " " not in name
            and name.lower() in ORGANIZATION_HEADS
            and entity.positions[:1] == [mention.start]
        )

    def _named_next(self, unnamed: Mention, mention: Mention, entity: _Entity) -> bool:
        """ "..., the NATO-led military alliance said. The International Security
        Assistance Force said ...": a body described by what it is, without a name the
        article knows, and a body named for the first time as the subject opening the next
        sentence, with no other body between, are one body."""
        ends = list(_SENTENCE_END.finditer(self._text, unnamed.end, mention.start))
        opening = bool(ends) and self._text[ends[-1].end() : mention.start].strip() in _OPENERS
        return (
            entity.kind == "organization"
            and entity.name is not None
            and " " in entity.name
            and entity.positions[:1] == [mention.start]
            and len(ends) == 1
            and opening  # the next sentence opens on the name: its subject
        )

    def _rename(self, entity: _Entity, described: _Entity) -> None:
        """Give a described body the name of ``entity`` and move every mention of it over."""
        described.name = entity.name
        described.article = described.article or entity.article
        for mention, linked in list(self._links.items()):
            if linked is entity:
                self._links[mention] = described
                bisect.insort(described.positions, mention.start)
        if entity.name is not None:
            self._entities[entity.name] = described

    def _link_pronouns(self) -> None:
        """Link "he"/"she" to the last person, "it" to the last organisation or document,
        "they" to the last group of people ("officials", "researchers")."""
        last: dict[str, _Entity] = {}
        for mention in self._mentions:
            entity = self._links.get(mention)
            if mention.pronoun:
                wanted = _pronoun_group(self._text[mention.start : mention.end], mention)
                if wanted in last:
                    self._link(mention, last[wanted])
                continue
            group = mention.kind == "person" and (mention.role or "").endswith("s")
            if entity is None and group:  # "officials": a group that "they" may refer to
                entity = _Entity(name=None)
                self._link(mention, entity)
            if entity is None or entity.kind is None:
                continue
            if entity.kind != "person":
                last["body"] = entity
            elif entity.name is None and (entity.role or "").endswith("s"):
                last["group"] = entity
            else:
                last["person"] = entity

    def _indefinite(self, mention: Mention) -> bool:
        """Whether the mention follows "a"/"an" ("a Britain-based monitor")."""
        before = self._text[max(0, mention.start - 3) : mention.start].lower().split()
        opening = self._text[mention.start : mention.start + 3].lower().split()[:1]
        return bool(before and before[-1] in ("a", "an")) or opening in (["a"], ["an"])

    def _definite(self, mention: Mention) -> bool:
        """Whether the mention starts with, or follows, "the" ("the agency" refers back)."""
        before = self._text[max(0, mention.start - 4) : mention.start].lower()
        return self._text[mention.start : mention.start + 4].lower() == "the " or before == "the "

    def _entity(self, name: str) -> _Entity:
        """The entity of a name, created (and indexed by its words) on first use; a body
        described in lower case ("office of Rep. Kang") is not what a surname refers to."""
        if name not in self._entities:
            entity = self._entities[name] = _Entity(name=name)
            for word in set(name.split()) if name[:1].isupper() else ():
                self._by_word.setdefault(word, []).append(entity)
        return self._entities[name]

    def _link(self, mention: Mention, entity: _Entity) -> None:
        """Record the link and let the entity absorb what the mention says."""
        self._links[mention] = entity
        entity.absorb(mention)


def _pronoun_group(word: str, mention: Mention) -> str:
    """Which antecedent a pronoun wants: a person, a body, or a group of people."""
    if word.lower() == "they":
        return "group"
    return "person" if mention.kind == "person" else "body"


def _initials(name: str) -> set[str]:
    """The acronyms a name may go by: "U.S. Geological Survey" -> USGS, "Texas Department
    of State Health Services" -> TDSHS and DSHS (place left out), "Electoral Commission of
    Ghana" -> ECG and EC (the "of Place" left out)."""
    words = name.replace("-", " ").split()
    variants = [words]
    if len(words) > 2 and is_place(words[0]):
        variants.append(words[1:])
    if " of " in name and is_place(name.rsplit(" of ", 1)[1]):
        variants.append(name.rsplit(" of ", 1)[0].split())
    found: set[str] = set()
    for variant in variants:
        letters: list[str] = []
        for word in variant:
            if word.lower() in _ACRONYM_SKIP:
                continue
            if "." in word:
                letters.extend(part for part in word.split(".") if part)
            elif word.isupper():
                letters.append(word)  # "US Geological Survey"
            elif word[:1].isupper():
                letters.append(word[0])
        found.add("".join(letters).upper())
    return found


def _first(item: tuple[str, _Entity]) -> str:
    """Sort key of a (first word, entity) entry."""
    return item[0]


def _position(item: tuple[int, _Entity]) -> int:
    """Sort key of a timeline entry."""
    return item[0]


def _nearest(candidates: list[_Entity], position: int) -> _Entity | None:
    """The candidate mentioned last before ``position``, else the one mentioned first after."""
    best: tuple[int, int] | None = None
    chosen = None
    for entity in candidates:
        index = bisect.bisect_left(entity.positions, position)
        if index:
            key = (0, position - entity.positions[index - 1])
        else:
            key = (1, entity.positions[0] if entity.positions else 0)
        if best is None or key < best:
            best, chosen = key, entity
    return chosen


def _nearest_compatible(
    timeline: list[tuple[int, _Entity]],
    mention: Mention,
    *,
    earlier_only: bool = False,
    text: str = "",
) -> _Entity | None:
    """Walk back from the mention, then forward, to the first entity with a compatible role."""
    index = bisect.bisect_left(timeline, mention.start, key=_position)
    later = [] if earlier_only else timeline[index:]
    for _, entity in itertools.chain(reversed(timeline[:index]), later):
        if _compatible(entity, mention, text):
            return entity
    return None


class _Bodies:
    """The organisations named so far, by the words of their names and roles."""

    def __init__(self) -> None:
        self._by_word: dict[str, _Entity] = {}
        self._last_named: _Entity | None = None

    def add(self, entity: _Entity, *, last: bool = True) -> None:
        """Record an organisation as the latest one named by each of its words (and, with
        ``last``, as the last body named)."""
        for word in f"{entity.name or ''} {entity.role or ''}".lower().split():
            self._by_word[word] = entity
        if last and entity.name is not None and not is_place(entity.name):
            self._last_named = entity

    def last(self, head: str, *, generic: bool = True) -> _Entity | None:
        """The last body with ``head`` in its name or role ("Defense Intelligence Agency"),
        else, for a generic head ("the agency", "the company"), the last body named."""
        found = self._by_word.get(head) or self._by_word.get(head.rstrip("s"))
        if found is None and generic and head in _GENERIC_BODIES:
            return self._last_named
        return found


def _owner(affiliation: str) -> str | None:
    """The person whose office a lower-case description names: "office of Rep. Kang
    Dae-sik" -> "Kang Dae-sik"; None when there is none ("statistics office")."""
    if affiliation[:1].isupper() or " of " not in affiliation:
        return None
    words = affiliation.split(" of ", 1)[1].split()
    titled = False
    while words and (
        words[0].rstrip(".").lower() in TITLE_ABBREVIATIONS
        or words[0].rstrip(".").lower() in HONORIFICS
        or words[0].lower() in TITLE_WORDS
    ):
        words, titled = words[1:], True
    if not titled or len(words) < 2 or is_place(" ".join(words)):
        return None
    return " ".join(words)


def _names_a_body(affiliation: str) -> bool:
    """Whether a person's affiliation is a body's name ("Port Authority of Jamaica"), not
    a place ("Morocco") nor a lower-case description."""
    words = affiliation.split()
    return len(words) > 1 and words[0][:1].isupper() and not is_place(affiliation)


def _compatible(entity: _Entity, mention: Mention, text: str = "") -> bool:
    """Same role (one may be the tail of the other) and no conflicting affiliation."""
    role, known = mention.role, entity.role
    if role is None or known is None or not (_extends(role, known) or _extends(known, role)):
        return False
    said, own = mention.affiliation, entity.affiliation
    if said is None or own is None or said == own:
        return True
    # "the REB president" is the president of the "Election Board (REB)"
    return " " not in said and (said.upper() in _initials(own) or f"{own} ({said})" in text)


def _head(role: str) -> str:
    """The last word of a role: "defense minister" -> "minister"."""
    return role.split()[-1]


def _extends(longer: str, shorter: str) -> bool:
    """True when ``shorter`` is a trailing part of ``longer``: "defense minister" / "minister"."""
    long_words, short_words = longer.split(), shorter.split()
    return long_words[-len(short_words) :] == short_words
