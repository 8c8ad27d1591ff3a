"""Role vocabulary: nouns naming a function ("minister", "ministry"), titles, honorifics."""

from __future__ import annotations

from ledger.extract.cues import wordset
from ledger.extract.model import SourceKind
from ledger.extract.places import is_place

PERSON_HEADS = wordset(
    """minister president secretary spokesperson spokesman spokeswoman senator governor mayor
    ambassador chancellor general commander director chairman chairwoman chair chief ceo
    official officials analyst analysts researcher researchers professor economist
    economists leader leaders premier king queen prince princess envoy diplomat diplomats
    prosecutor prosecutors judge lawmaker lawmakers representative adviser advisor founder
    manager officer officers scientist scientists expert experts head colonel admiral
    attorney lawyer commissioner executive candidate pope witness witnesses resident
    residents doctor doctors source sources activist activists observer observers critic
    critics spokespeople legislator legislators negotiator negotiators rep congressman
    congresswoman mp mps spokesmen spokeswomen staff investigator investigators inspector
    inspectors correspondent correspondents member members worker workers
    strategist strategists president-elect rescuers rescuer firefighters firefighter
    villagers villager survivors survivor scientists researchers chairperson"""
)

ORGANIZATION_HEADS = wordset(
    """ministry government department agency office administration army police company firm
    committee commission council parliament court bank embassy authorities regulator union
    institute organization organisation military bureau service cabinet coalition alliance
    navy military force forces guard command board fund foundation association federation
    party group brigade utility utilities operator carrier airline lender insurer retailer
    manufacturer automaker producer exporter watchdog regime junta headquarters tank media
    outlets tv television radio newspaper broadcaster channel directorate project programme
    program authority agencies ministries governments companies firms regulators monitor
    observatory watchdogs charity ngo"""
)

# Nouns naming a document or a body of data that can be a source ("the report said").
DOCUMENT_HEADS = wordset(
    """report reports study studies survey surveys data figures statistics statement document
    documents memo filing filings assessment analysis estimate estimates census poll polls
    review audit findings bulletin release paper records letter indictment complaint
    ruling verdict research results numbers information projections projection tally
    decision forecast"""
)

ROLE_HEADS = PERSON_HEADS | ORGANIZATION_HEADS | DOCUMENT_HEADS

# Capitalized title words that precede a name ("Defense Minister Shin Won-shik").
TITLE_WORDS = wordset(
    """minister president secretary senator governor mayor general ambassador chancellor
    chairman chairwoman director judge justice pope king queen prince princess premier
    chief commissioner spokesperson spokesman spokeswoman admiral colonel lieutenant
    sergeant captain speaker leader envoy prosecutor attorney commander ceo chair
    chairperson manager inspector major superintendent officer detective constable
    corporal brigadier marshal"""
)

# Abbreviated titles (written with a period) and the role they stand for.
TITLE_ABBREVIATIONS = {
    "sen": "senator",
    "rep": "representative",
    "gov": "governor",
    "gen": "general",
    "adm": "admiral",
    "col": "colonel",
    "lt": "lieutenant",
    "sgt": "sergeant",
    "capt": "captain",
    "pres": "president",
}

# Honorifics name a person without saying what they do.
HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "prof"})

# Words in a capitalized name that mark an organization rather than a person or a place.
ORGANIZATION_WORDS = wordset(
    """states kingdom union nations republic house ministry department agency council
    party bank university times news post press reuters associated office government army
    navy force forces command committee commission court parliament congress senate
    assembly pentagon kremlin institute center centre group corp inc ltd llc plc co company
    corporation organization organisation bureau service services administration authority
    board fund foundation association federation network institute statistics agency
    police military coalition alliance cabinet commission exchange reserve secretariat
    tribunal council club laboratory laboratories hospital school college academy
    programme program electronics motors airlines airways energy holdings pharmaceuticals
    technologies systems capital partners industries petroleum oil gas telecom media
    communications entertainment airport railways ventures solutions brands foods tv
    television radio channel broadcasting gazette journal survey centers centres district
    directorate headquarters cross crescent observatory watchdog monitor league division"""
)


# Words before a role that say which one, not what it is: "a second official", "a new study".
_NOT_PART_OF_ROLES = wordset("new another other second third fourth fifth")


def role_text(words: list[str]) -> str:
    """Normalize a role phrase: lower case, abbreviations expanded ("Sen." -> "senator"),
    a leading "new", "another" or ordinal dropped ("a new study" is the study)."""
    if len(words) > 1 and words[0].lower() in _NOT_PART_OF_ROLES:
        words = words[1:]
    return " ".join(TITLE_ABBREVIATIONS.get(word.lower(), word.lower()) for word in words)


def role_kind(role: str) -> SourceKind | None:
    """What a role's head noun names: "defense minister" a person, "the agency" a body."""
    head = role.split()[-1]
    if head in DOCUMENT_HEADS:
        return "document"
    if head in ORGANIZATION_HEADS:
        return "organization"
    if head in PERSON_HEADS:
        return "person"
    return None


def name_kind(name: str) -> SourceKind | None:
    """What a capitalized name is: a place or body ("organization"), a person, or unknown.

    Places that speak ("Saudi Arabia said") are their governments, so organizations.
    Acronyms ("IBGE", "NATO") are bodies; two or more plain words are a person's name.
    """
    words = name.split()
    if is_place(name) or any(word.lower() in ORGANIZATION_WORDS for word in words):
        return "organization"
    if len(words) == 1 and len(name) > 1 and name.replace(".", "").isupper():
        return "organization"
    if len(words) > 1:
        return "person"
    return None
