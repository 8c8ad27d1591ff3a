"""Claimant identities: deterministic name keys, matching rules, and clustering of the
attributions of the log into one identity per person or organisation.

Pure and standard-library only. The rules are general (spelling, romanization, titles,
organisation forms), never a list of particular people; docs/decisions/0009 explains them
and their limits. The same attributions and overrides, in the same log order, always give
the same identities with the same ids.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ledger.extract.cues import wordset
from ledger.extract.places import is_place, place_words
from ledger.extract.roles import (
    HONORIFICS,
    ORGANIZATION_HEADS,
    ORGANIZATION_WORDS,
    PERSON_HEADS,
    TITLE_ABBREVIATIONS,
    TITLE_WORDS,
)

RULES_VERSION = "2"
"""Changes whenever a rule below changes what is matched (identities are a projection:
rebuilding them with new rules is allowed, and ids stay derived from the log)."""

Kind = Literal["person", "organization", "document"]
Verdict = Literal["link", "unlink"]


@dataclass(frozen=True, kw_only=True)
class Attribution:
    """One claim's claimant, as the identity rules see it.

    ``ref`` is unique (the claim id); ``source`` scopes the rules that only hold inside one
    article (surname-only mentions, acronyms); ``made_on`` dates the role.
    """

    ref: str
    source: str
    name: str | None
    role: str | None = None
    affiliation: str | None = None
    kind: Kind | None = None
    made_on: str | None = None


@dataclass(frozen=True, kw_only=True)
class Override:
    """A reviewer's correction: link (merge) or unlink (force apart) the identities holding
    the attributions ``a`` and ``b`` (an identity id is the ref of one of its attributions)."""

    verdict: Verdict
    a: str
    b: str


@dataclass(frozen=True, kw_only=True)
class RoleSpan:
    """A role an identity was reported in, with the first and last dates it was seen."""

    role: str
    first: str | None
    last: str | None


@dataclass(frozen=True, kw_only=True)
class Identity:
    """One claimant: its id (the ref of its first attribution in log order), the kind, the
    name shown (the most frequent full spelling, earliest on ties), every spelling seen, its
    roles over time, and its attributions in log order."""

    id: str
    kind: Kind
    name: str
    names: tuple[str, ...]
    roles: tuple[RoleSpan, ...]
    affiliations: tuple[str, ...]
    members: tuple[str, ...]


@dataclass(frozen=True)
class Identities:
    """The result of clustering: every identity, and which identity each attribution has."""

    by_id: dict[str, Identity]
    of_ref: dict[str, str]

    def of(self, ref: str) -> Identity | None:
        """The identity of attribution ``ref`` (also resolves a former identity id that a
        link merged away: that id is still the ref of one of the merged attributions)."""
        found = self.of_ref.get(ref)
        return self.by_id[found] if found is not None else None

    def partition(self) -> frozenset[frozenset[str]]:
        """The identities as sets of attribution refs (for comparing clusterings)."""
        return frozenset(frozenset(i.members) for i in self.by_id.values())


# ---------------------------------------------------------------------------------------------
# Text normalization

_PUNCT = re.compile(r"[^\w\s-]+")
_SPACES = re.compile(r"[\s_]+")
_ACRONYM_IN_PARENS = re.compile(r"^(?P<expansion>.+?)\s*\((?P<acronym>[A-Za-z.&]{2,12})\)$")

# Words that modify a title ("Defense Minister", "Deputy Prime Minister", "former Senator").
_TITLE_MODIFIERS = wordset(
    """defense defence foreign prime deputy vice former acting interior finance state home
    trade justice health education economy economic treasury attorney national security
    press chief senior first lead top then"""
)
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_PARTICLES = frozenset({"al", "el", "ul", "ad", "as", "ash", "an", "ar", "at", "az"})
_ORG_STOPWORDS = frozenset({"of", "the", "and", "for", "on", "in", "de", "to"})
_ORG_FORMS = {
    # Generic country forms, not organisations of their own: "U.S." is "US".
    ("united", "states"): ("us",),
    ("united", "states", "of", "america"): ("us",),
    ("united", "kingdom"): ("uk",),
    ("great", "britain"): ("uk",),
}
_MINISTRY_HEADS = frozenset({"ministry", "department"})


@functools.lru_cache(maxsize=1 << 16)
def fold_text(text: str) -> str:
    """Casefold, strip diacritics and punctuation (dots vanish: "U.S." -> "us"), keep
    hyphens, collapse spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("’", "'").replace("'s ", " ").casefold()
    plain = plain.replace(".", "")
    plain = _PUNCT.sub(" ", plain)
    return _SPACES.sub(" ", plain).strip(" -")


def british_american(word: str) -> str:
    """One spelling for British/American pairs: defence/defense, organisation/organization,
    labour/labor, centre/center, programme/program."""
    if word.endswith("ence") and word[:-4] in {"def", "off", "lic", "pret"}:
        return word[:-4] + "ense"
    word = re.sub(r"is(ation|e|ed|ing)$", r"iz\1", word) if len(word) > 6 else word
    if len(word) > 4 and word.endswith("our") and word not in {"favour"}:
        word = word[:-3] + "or"
    if len(word) > 4 and word.endswith("tre"):
        word = word[:-3] + "ter"
    if word.endswith("programme"):
        word = word[:-2]
    return word


def romanize(part: str) -> str:
    """Fold one name part (no spaces or hyphens) so that common romanizations of the same
    sound meet: Korean shik/sik, eo/o, Kim/Gim, Pak/Bak; Arabic q/k, dh/d, kh/k,
    Mohammed/Muhammad (o/u and e/a vowels, doubled letters); Russian -off/-ov, y/i;
    ph/f, ou/oo/u. A key, not a spelling: "Shin Won-shik" -> "sin wunsik"."""
    s = part
    for old, new in (("ph", "f"), ("kh", "k"), ("q", "k"), ("dh", "d"), ("tch", "ch")):
        s = s.replace(old, new)
    s = s.replace("shi", "si")
    for old, new in (("eo", "o"), ("ou", "u"), ("oo", "u"), ("y", "i")):
        s = s.replace(old, new)
    if s.endswith("off") or s.endswith("eff"):
        s = s[:-2] + "v"
    if s[:1] == "g":
        s = "k" + s[1:]
    elif s[:1] == "b":
        s = "p" + s[1:]
    s = s.replace("e", "a").replace("o", "u")
    return re.sub(r"(.)\1+", r"\1", s)


# ---------------------------------------------------------------------------------------------
# Names


def strip_titles(name: str) -> str:
    """A person's name without leading titles, roles and honorifics or trailing suffixes:
    "South Korean Defense Minister Shin Won-sik" -> "Shin Won-sik", "Dr. Jane Roe Jr." ->
    "Jane Roe". Words before a title count only if they can qualify it (places, "deputy")."""
    words = name.split()
    cut = 0
    for i, word in enumerate(words[:-1]):
        low = fold_text(word)
        if low in TITLE_WORDS or low in TITLE_ABBREVIATIONS or low in HONORIFICS:
            cut = i + 1
        elif not (low in _TITLE_MODIFIERS or _place_word(low) or (cut and low == "of")):
            break
    if 0 < cut < len(words) - 1 and fold_text(words[cut]) == "of":
        cut += 2  # "Secretary of State Antony Blinken"
    rest = words[cut:] if cut < len(words) else words[-1:]
    while len(rest) > 1 and fold_text(rest[-1]) in _NAME_SUFFIXES:
        rest = rest[:-1]
    return " ".join(rest).strip(" ,")


def _place_word(word: str) -> bool:
    """A word that may name where a title belongs: "South", "Korean", "British", "Israeli"."""
    return word in place_words() or word.endswith(("an", "ese", "ish", "i"))


def name_kind(name: str, kind: Kind | None) -> Kind:
    """The kind given, else a guess from the words: organisation words or a lone acronym
    make an organisation, anything else a person."""
    if kind is not None:
        return kind
    words = fold_text(name).replace("-", " ").split()
    if is_place(name) or any(w in ORGANIZATION_HEADS or w in ORGANIZATION_WORDS for w in words):
        return "organization"
    bare = name.replace(".", "").strip()
    if " " not in bare and len(bare) >= 2 and bare.isupper():
        return "organization"
    return "person"


def person_tokens(name: str) -> tuple[str, ...]:
    """The romanized tokens of a person's name: titles gone, particles ("al-") dropped,
    hyphenated parts joined ("Won-sik" and "Won sik" both give one token "wunsik")."""
    tokens: list[str] = []
    words = fold_text(strip_titles(name)).split()
    for index, word in enumerate(words):
        parts = [p for p in word.split("-") if p]
        if len(parts) > 1 and parts[0] in _PARTICLES:
            parts = parts[1:]
        if len(parts) == 1 and parts[0] in _PARTICLES and 0 < index < len(words) - 1:
            continue
        tokens.append("".join(romanize(p) for p in parts))
    return tuple(t for t in tokens if t)


def org_tokens(name: str) -> tuple[str, ...]:
    """The tokens of an organisation's name: no leading "the", British/American spelling
    folded, "U.S."/"US"/"United States" one form, "X Ministry" as "ministry of X"."""
    words = [british_american(w) for w in fold_text(name).replace("-", " ").split()]
    while words and words[0] == "the":
        words = words[1:]
    for long, short in _ORG_FORMS.items():
        n = len(long)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == long:
                words = [*words[:i], *short, *words[i + n :]]
                break
    if len(words) > 1 and words[-1] in _MINISTRY_HEADS and "of" not in words:
        words = [words[-1], "of", *words[:-1]]
    return tuple(words)


def acronym(tokens: Sequence[str]) -> str | None:
    """Initials of an organisation's content words ("defense intelligence agency" -> "dia");
    None for a one-word name."""
    content = [t for t in tokens if t not in _ORG_STOPWORDS]
    return "".join(t[0] for t in content) if len(content) > 1 else None


@dataclass(frozen=True, kw_only=True)
class NameKey:
    """What the rules compare: the kind, the keys under which equal names meet (the first
    is the name's own; others are equivalent forms), whether the key only holds inside one
    source, the surname candidates of a full person name, and an organisation's acronym."""

    kind: Kind
    keys: tuple[str, ...]
    scoped: bool
    short: str | None = None
    ends: tuple[str, ...] = ()
    acronym: str | None = None


@functools.lru_cache(maxsize=1 << 16)
def name_key(name: str, kind: Kind | None = None) -> NameKey | None:
    """The deterministic key of a claimant's name (None for a name with no letters)."""
    resolved = name_kind(name, kind)
    if resolved == "document":
        tokens = org_tokens(name)
        return NameKey(kind="document", keys=(" ".join(tokens),), scoped=True) if tokens else None
    if resolved == "organization":
        return _org_key(name)
    tokens = person_tokens(name)
    if not tokens:
        return None
    if len(tokens) == 1:
        return NameKey(kind="person", keys=(tokens[0],), scoped=True, short=tokens[0])
    keys = ["".join(tokens)]
    if len(tokens) == 2:  # "Won-sik Shin" is "Shin Won-sik" in the other name order
        keys.append(tokens[1] + tokens[0])
    return NameKey(kind="person", keys=tuple(keys), scoped=False, ends=(tokens[0], tokens[-1]))


def _org_key(name: str) -> NameKey | None:
    found = _ACRONYM_IN_PARENS.match(name.strip())
    if found is not None:  # "Defense Intelligence Agency (DIA)": both forms are the same body
        tokens = org_tokens(found["expansion"])
        short = fold_text(found["acronym"])
        keys = (" ".join(tokens), short) if tokens else (short,)
        return NameKey(kind="organization", keys=keys, scoped=False, acronym=acronym(tokens))
    tokens = org_tokens(name)
    if not tokens:
        return None
    return NameKey(
        kind="organization",
        keys=(" ".join(tokens),),
        scoped=False,
        short=tokens[0] if len(tokens) == 1 else None,
        acronym=acronym(tokens),
    )


@functools.lru_cache(maxsize=1 << 16)
def display_name(name: str, kind: Kind) -> str:
    """A name as shown: titles gone for people, a leading "the" gone for organisations."""
    cleaned = strip_titles(name) if kind == "person" else re.sub(r"^(?i:the)\s+", "", name)
    return " ".join(cleaned.split())


# ---------------------------------------------------------------------------------------------
# Roles and affiliations


@functools.lru_cache(maxsize=1 << 16)
def affiliation_key(affiliation: str | None) -> str | None:
    """A place or body as compared: each word cut to its first five letters, so a country
    and its adjective meet ("South Korea"/"South Korean", "Russia"/"Russian")."""
    if not affiliation:
        return None
    tokens = org_tokens(affiliation)
    return " ".join(t[:5] for t in tokens) or None


@functools.lru_cache(maxsize=1 << 16)
def role_label(role: str | None, affiliation: str | None) -> str | None:
    """A role as kept over time: lower case, spelling folded, a leading country that repeats
    the affiliation dropped ("south korean defence minister" -> "defense minister")."""
    if not role:
        return None
    words = [british_american(w) for w in fold_text(role).replace("-", " ").split()]
    place = (affiliation_key(affiliation) or "").split()
    stems = [w[:5] for w in words]
    if place and stems[: len(place)] == place and len(words) > len(place):
        words = words[len(place) :]
    # With no affiliation to compare, a leading place ("south korean", "russian") is still
    # where the role belongs, not what it is.
    while len(words) > 1 and _role_place_word(words[0]) and words[-1] in PERSON_HEADS:
        words = words[1:]
    return " ".join(words) or None


@functools.lru_cache(maxsize=1 << 16)
def role_only_label(role: str | None, affiliation: str | None) -> str | None:
    """How a claimant known only by a role is shown: the role as written, with its
    affiliation when the role does not already say it ("lawmaker (Democratic Party)",
    "Nepal police spokesperson"); None without a role. A label, never an identity: two
    claims by "a lawmaker" need not be one person."""
    if not role or not role.strip():
        return None
    shown = " ".join(role.split())
    if not affiliation or not affiliation.strip():
        return shown
    place = affiliation_key(affiliation)
    held = org_tokens(shown)
    if place is not None and all(any(w.startswith(p) for w in held) for p in place.split()):
        return shown  # "South Korean defense minister" already says South Korea
    return f"{shown} ({' '.join(affiliation.split())})"


def _role_place_word(word: str) -> bool:
    """A place or nationality word in a role: "south", "korean", "british", "chinese"."""
    return word in place_words() or word.endswith(("ean", "ian", "ese", "ish", "can"))


# ---------------------------------------------------------------------------------------------
# Clustering


@dataclass
class _Cluster:
    members: list[int]
    kinds: set[Kind] = field(default_factory=set)
    places: set[str] = field(default_factory=set)
    heads: set[str] = field(default_factory=set)


class _Clusters:
    """Union-find over attribution indexes that refuses unions the rules forbid."""

    def __init__(self, infos: Sequence[tuple[Attribution, NameKey]]) -> None:
        self.parent: list[int] = []
        self.clusters: dict[int, _Cluster] = {}
        for attribution, key in infos:
            self.add(attribution, key)
        self.apart: list[tuple[int, int]] = []
        self.old = 0
        """Attributions below this index are the ones an incremental step started from
        (``Clusterer``): ``_merge`` records their clusters' signatures before they change."""
        self.before: dict[int, tuple[frozenset[Kind], frozenset[str], frozenset[str]]] = {}
        self.joined_old = False
        """Whether a merge joined two clusters that both began before ``old``."""

    def add(self, attribution: Attribution, key: NameKey) -> None:
        """One more attribution, alone in its cluster (the next index)."""
        i = len(self.parent)
        self.parent.append(i)
        cluster = _Cluster(members=[i], kinds={key.kind})
        place = affiliation_key(attribution.affiliation)
        if place:
            cluster.places.add(place)
        role = role_label(attribution.role, attribution.affiliation)
        if role:
            cluster.heads.add(role.split()[-1])
        self.clusters[i] = cluster

    def signature(self, root: int) -> tuple[frozenset[Kind], frozenset[str], frozenset[str]]:
        """What the rules compare of a cluster: its kinds, places and role heads."""
        c = self.clusters[root]
        return frozenset(c.kinds), frozenset(c.places), frozenset(c.heads)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def compatible(self, a: int, b: int, *, heads: bool = False) -> bool:
        """Whether the clusters of ``a`` and ``b`` may merge: same kind, no two different
        affiliations, no reviewer unlink between them (and, when ``heads``, roles naming the
        same function)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ca, cb = self.clusters[ra], self.clusters[rb]
        if ca.kinds != cb.kinds or (ca.places and cb.places and not ca.places & cb.places):
            return False
        if heads and ca.heads and cb.heads and not ca.heads & cb.heads:
            return False
        return not self._kept_apart(ra, rb)

    def union(self, a: int, b: int, *, heads: bool = False) -> bool:
        """Merge the clusters of ``a`` and ``b`` if the rules allow it."""
        return self.compatible(a, b, heads=heads) and self._merge(a, b)

    def link(self, a: int, b: int) -> bool:
        """A reviewer's link: merges across kinds and affiliations, never across an unlink."""
        return not self._kept_apart(self.find(a), self.find(b)) and self._merge(a, b)

    def _kept_apart(self, ra: int, rb: int) -> bool:
        return ra != rb and any({self.find(x), self.find(y)} == {ra, rb} for x, y in self.apart)

    def _merge(self, a: int, b: int) -> bool:
        """Merge; the root stays the one whose first member comes first in log order (so
        the identity id is deterministic)."""
        ra, rb = sorted((self.find(a), self.find(b)))
        if ra == rb:
            return True
        if ra < self.old:
            if rb < self.old:
                self.joined_old = True
            elif ra not in self.before:
                self.before[ra] = self.signature(ra)
        self.parent[rb] = ra
        merged, gone = self.clusters[ra], self.clusters.pop(rb)
        if len(gone.members) > len(merged.members):  # the smaller list moves: n log n
            merged.members, gone.members = gone.members, merged.members
        merged.members += gone.members  # in log order once all merged (``_identities``)
        merged.kinds |= gone.kinds  # two kinds only after a link: nothing else joins it
        merged.places |= gone.places
        merged.heads |= gone.heads
        return True


def cluster(attributions: Sequence[Attribution], overrides: Iterable[Override] = ()) -> Identities:
    """Identities of ``attributions`` (in log order), corrected by reviewer ``overrides``
    (in log order; refs that name no attribution are ignored).

    1. Equal keys meet (a scoped key only within its source), unless their affiliations,
       kinds or an unlink keep them apart; an attribution joins the first compatible
       identity under its key, in log order.
    2. In one source, a lone surname joins the unique full name that begins or ends with
       it (when their roles name the same function); an acronym joins the unique
       organisation it abbreviates.
    3. Overrides: the last verdict on a pair wins; an unlink forbids every union (1, 2
       or a link) that would put the pair together; links then merge, in log order, even
       across kinds or affiliations (the reviewer knows better than the rules).
    """
    infos: list[tuple[Attribution, NameKey]] = []
    for attribution in attributions:
        key = name_key(attribution.name, attribution.kind) if attribution.name else None
        if key is not None:
            infos.append((attribution, key))
    index = {a.ref: i for i, (a, _) in enumerate(infos)}
    links, apart = _verdicts(overrides, index)
    clusters = _Clusters(infos)
    clusters.apart = apart
    _match_keys(infos, clusters)
    _match_in_source(infos, clusters)
    for a, b in links:
        clusters.link(a, b)
    return _identities(infos, clusters)


def _verdicts(
    overrides: Iterable[Override], index: Mapping[str, int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    last: dict[frozenset[int], tuple[int, Verdict, int, int]] = {}
    for order, override in enumerate(overrides):
        a, b = index.get(override.a), index.get(override.b)
        if a is None or b is None or a == b:
            continue
        last[frozenset((a, b))] = (order, override.verdict, a, b)
    decided = sorted(last.values())
    links = [(a, b) for _, verdict, a, b in decided if verdict == "link"]
    apart = [(a, b) for _, verdict, a, b in decided if verdict == "unlink"]
    return links, apart


def _match_keys(infos: Sequence[tuple[Attribution, NameKey]], clusters: _Clusters) -> None:
    heads: dict[str, list[int]] = {}
    for i, (attribution, key) in enumerate(infos):
        scope = f"{attribution.source}\0" if key.scoped else ""
        for k in key.keys:  # every key is the same name: join an identity under each
            full = f"{key.kind}\0{scope}{k}"
            candidates = heads.setdefault(full, [])
            for c in candidates:
                if clusters.union(c, i):
                    break
            if not any(clusters.find(c) == clusters.find(i) for c in candidates):
                candidates.append(i)


def _match_in_source(infos: Sequence[tuple[Attribution, NameKey]], clusters: _Clusters) -> None:
    by_source: dict[str, list[int]] = {}
    for i, (attribution, _) in enumerate(infos):
        by_source.setdefault(attribution.source, []).append(i)
    for i, (attribution, key) in enumerate(infos):
        if key.short is None:
            continue
        short, peers = key.short, by_source[attribution.source]
        if key.kind == "person":
            targets = _firsts(infos, peers, _ends_with, short)
            if len(targets) == 1:
                clusters.union(targets[0], i, heads=True)
        elif key.kind == "organization":
            targets = _firsts(infos, peers, _abbreviates, short)
            if len(targets) == 1:
                clusters.union(targets[0], i)


def _firsts(
    infos: Sequence[tuple[Attribution, NameKey]],
    peers: Sequence[int],
    test: Callable[[NameKey, str], bool],
    short: str,
) -> list[int]:
    """The first attribution of each distinct key among ``peers`` that passes ``test``."""
    seen: dict[str, int] = {}
    for j in peers:
        key = infos[j][1]
        if test(key, short) and key.keys[0] not in seen:
            seen[key.keys[0]] = j
    return list(seen.values())


def _ends_with(key: NameKey, short: str) -> bool:
    """A full person name beginning or ending with the surname ``short``."""
    return short in key.ends


def _abbreviates(key: NameKey, short: str) -> bool:
    """An organisation whose acronym is ``short``."""
    return key.acronym == short


def _identities(infos: Sequence[tuple[Attribution, NameKey]], clusters: _Clusters) -> Identities:
    by_id: dict[str, Identity] = {}
    of_ref: dict[str, str] = {}
    for root in sorted(clusters.clusters):
        members = sorted(clusters.clusters[root].members)
        identity = _identity([infos[m] for m in members])
        by_id[identity.id] = identity
        for m in members:
            of_ref[infos[m][0].ref] = identity.id
    return Identities(by_id=by_id, of_ref=of_ref)


def _identity(members: Sequence[tuple[Attribution, NameKey]]) -> Identity:
    kind = members[0][1].kind
    counts: dict[str, int] = {}
    for attribution, _ in members:
        shown = display_name(attribution.name or "", kind)
        counts[shown] = counts.get(shown, 0) + 1
    order = list(counts)
    full = [n for n in order if len(n.split()) > 1] or order
    name = max(full, key=lambda n: (counts[n], -order.index(n)))
    spans: dict[str, list[str | None]] = {}
    places: list[str] = []
    for attribution, _ in members:
        if attribution.affiliation and attribution.affiliation not in places:
            places.append(attribution.affiliation)
        role = role_label(attribution.role, attribution.affiliation)
        if role is None:
            continue
        span = spans.setdefault(role, [attribution.made_on, attribution.made_on])
        if attribution.made_on is not None:
            span[0] = min(filter(None, (span[0], attribution.made_on)))
            span[1] = max(filter(None, (span[1], attribution.made_on)))
    roles = sorted(
        (RoleSpan(role=r, first=s[0], last=s[1]) for r, s in spans.items()),
        key=lambda span: (span.first or "9999", span.role),
    )
    return Identity(
        id=members[0][0].ref,
        kind=kind,
        name=name,
        names=tuple(order),
        roles=tuple(roles),
        affiliations=tuple(places),
        members=tuple(a.ref for a, _ in members),
    )


# ---------------------------------------------------------------------------------------------
# Clustering kept up to date as the log grows (decision 0039)


@dataclass(frozen=True, kw_only=True)
class IdentityChange:
    """What one ``Clusterer.extend`` changed: identity ids that no longer exist, and the
    identities made or changed (every other identity is the same object as before)."""

    gone: frozenset[str]
    changed: tuple[Identity, ...]
    moved: frozenset[str] = frozenset()
    """The attributions that are new or whose identity id changed (the others of a changed
    identity stay where they were)."""


class Clusterer:
    """``cluster`` kept up to date as attributions are appended to the log: after
    ``extend``, ``identities`` are exactly what ``cluster`` of every attribution so far
    gives, and an append costs in proportion to it and to the identities it touches.

    ``cluster`` runs three phases in order: keys (1), rules inside one source (2), links
    (3). The state after (1) (``keys``) and after (2) (``sources``) is kept. New
    attributions come last in log order, so from nothing their key joins come after the
    old ones', then the old in-source joins run, then theirs. ``extend`` runs their key
    joins on ``keys``; when every cluster they touched already existed alone (no two old
    clusters joined) and, if an in-source rule compared it, kept its kinds, places and role
    heads, the old in-source joins would decide the same (each compares two clusters by exactly those, and by unlinks
    between old attributions), so it makes the same joins on ``sources``, then the new
    attributions' in-source joins; links are few and replayed over ``sources`` each time.
    Anything it cannot show exact returns None and leaves the clusterer spent (``spent``):
    new attributions in a source that already has some (the in-source rules of the old
    ones would see them), an unlink that appeared or went, two old clusters joined, or a
    cluster whose signature changed that an in-source rule had compared (``compared``).
    The caller then clusters from nothing."""

    def __init__(self) -> None:
        self.infos: list[tuple[Attribution, NameKey]] = []
        self.index: dict[str, int] = {}
        self.keys = _Clusters([])
        self.sources = _Clusters([])
        self.heads: dict[str, list[int]] = {}
        self.by_source: dict[str, list[int]] = {}
        self.apart: frozenset[frozenset[str]] = frozenset()
        self.linked: set[int] = set()
        """Attributions whose cluster a link touched at the last step (replayed each time)."""
        self.compared: set[int] = set()
        """Key clusters (by root) that an in-source rule compared with another: only their
        kinds, places and role heads decide anything after the key phase, so only theirs
        must not change (a cluster first meets others in the in-source phase alone, by one of
        its own attributions)."""
        self.identities = Identities(by_id={}, of_ref={})
        self.spent = False

    def extend(
        self, attributions: Sequence[Attribution], overrides: Sequence[Override]
    ) -> IdentityChange | None:
        """Add ``attributions`` (after every one so far, in log order) with the log's
        overrides now (in log order); None when the result could not be shown exact."""
        if self.spent:
            return None
        start = len(self.infos)
        new: list[tuple[Attribution, NameKey]] = []
        for attribution in attributions:
            key = name_key(attribution.name, attribution.kind) if attribution.name else None
            if key is not None:
                new.append((attribution, key))
        if start and any(a.source in self.by_source or a.ref in self.index for a, _ in new):
            return None
        infos = self.infos
        added = {a.ref: start + j for j, (a, _) in enumerate(new)}
        links, apart = _verdicts(overrides, ChainMap(added, self.index))  # no copy: O(new)

        def ref(i: int) -> str:
            return infos[i][0].ref if i < start else new[i - start][0].ref

        apart_refs = frozenset(frozenset((ref(a), ref(b))) for a, b in apart)
        if start and apart_refs != self.apart:
            return None
        self.index.update(added)
        self.apart = apart_refs
        for j, (attribution, key) in enumerate(new):
            infos.append((attribution, key))
            self.keys.add(attribution, key)
            self.sources.add(attribution, key)
            self.by_source.setdefault(attribution.source, []).append(start + j)
        self.keys.apart = self.sources.apart = apart
        self.keys.old, self.keys.before, self.keys.joined_old = start, {}, False
        _match_keys_from(infos, self.keys, self.heads, start)
        before = self.keys.before
        if self.keys.joined_old or any(
            r in self.compared and self.keys.signature(r) != s for r, s in before.items()
        ):
            self.spent = True
            return None
        for i in range(start, len(infos)):  # the same key joins, after the old in-source ones
            root = self.keys.find(i)
            if root != i:
                self.sources._merge(root, i)
        compared = _match_in_source_from(infos, self.sources, self.by_source, start)
        self.compared.update(self.keys.find(i) for i in compared)
        return self._relink(links, apart, range(start, len(infos)))

    def _relink(
        self, links: list[tuple[int, int]], apart: list[tuple[int, int]], new: range
    ) -> IdentityChange:
        """Links over the in-source clusters, and the identities of the clusters that the
        new attributions or any link (now or at the last step) touched."""
        sources = self.sources
        parent: dict[int, int] = {}

        def final(x: int) -> int:
            r = sources.find(x)
            while r in parent:
                r = parent[r]
            return r

        for a, b in links:
            ra, rb = final(a), final(b)
            if ra == rb or any({final(x), final(y)} == {ra, rb} for x, y in apart):
                continue
            parent[max(ra, rb)] = min(ra, rb)
        linked = {x for pair in links for x in pair}
        touched = {final(i) for i in new} | {final(x) for x in linked | self.linked}
        self.linked = linked
        parts: dict[int, list[int]] = {}
        for r in parent:
            parts.setdefault(final(r), []).append(r)
        infos, old = self.infos, self.identities
        gone: set[str] = set()
        built: dict[int, Identity] = {}
        work = list(touched)
        while work:
            root = work.pop()
            if root in built:
                continue
            members = sorted(
                m for r in (root, *parts.get(root, ())) for m in sources.clusters[r].members
            )
            identity = _identity([infos[m] for m in members])
            built[root] = identity
            for m in members:
                was = old.of_ref.get(infos[m][0].ref)
                if was is not None and was not in gone:
                    gone.add(was)  # every member of an identity that changed is rebuilt
                    work += (final(self.index[ref]) for ref in old.by_id[was].members)
        moved = frozenset(
            ref
            for identity in built.values()
            for ref in identity.members
            if old.of_ref.get(ref) != identity.id
        )
        for was in gone:
            del old.by_id[was]
        for identity in built.values():
            old.by_id[identity.id] = identity
            for ref in moved.intersection(identity.members):
                old.of_ref[ref] = identity.id
        return IdentityChange(
            gone=frozenset(gone - old.by_id.keys()), changed=tuple(built.values()), moved=moved
        )


def _match_keys_from(
    infos: Sequence[tuple[Attribution, NameKey]],
    clusters: _Clusters,
    heads: dict[str, list[int]],
    start: int,
) -> None:
    """``_match_keys`` of the attributions from ``start`` on, with the candidates under
    each key (``heads``) the earlier ones left."""
    for i in range(start, len(infos)):
        attribution, key = infos[i]
        scope = f"{attribution.source}\0" if key.scoped else ""
        for k in key.keys:
            candidates = heads.setdefault(f"{key.kind}\0{scope}{k}", [])
            for c in candidates:
                if clusters.union(c, i):
                    break
            if not any(clusters.find(c) == clusters.find(i) for c in candidates):
                candidates.append(i)


def _match_in_source_from(
    infos: Sequence[tuple[Attribution, NameKey]],
    clusters: _Clusters,
    by_source: dict[str, list[int]],
    start: int,
) -> list[int]:
    """``_match_in_source`` of the attributions from ``start`` on (their sources hold no
    earlier attribution); the attributions whose clusters it compared."""
    compared: list[int] = []
    for i in range(start, len(infos)):
        attribution, key = infos[i]
        if key.short is None:
            continue
        short, peers = key.short, by_source[attribution.source]
        if key.kind == "person":
            targets = _firsts(infos, peers, _ends_with, short)
            if len(targets) == 1:
                compared += (targets[0], i)
                clusters.union(targets[0], i, heads=True)
        elif key.kind == "organization":
            targets = _firsts(infos, peers, _abbreviates, short)
            if len(targets) == 1:
                compared += (targets[0], i)
                clusters.union(targets[0], i)
    return compared
