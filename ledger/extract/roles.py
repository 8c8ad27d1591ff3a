"""Role vocabulary: nouns naming a function ("minister", "ministry"), titles, honorifics."""

from __future__ import annotations

from ledger.extract.cues import wordset

PERSON_HEADS = wordset(
    """minister president secretary spokesperson spokesman spokeswoman senator governor mayor
    ambassador chancellor general commander director chairman chairwoman chair chief ceo
    official officials analyst analysts researcher researchers professor economist
    economists leader leaders premier king queen prince princess envoy diplomat diplomats
    prosecutor prosecutors judge lawmaker lawmakers representative adviser advisor founder
    manager officer officers scientist scientists expert experts head colonel admiral
    attorney lawyer commissioner executive candidate pope witness witnesses resident
    residents doctor doctors source sources activist activists observer observers critic
    critics spokespeople legislator legislators negotiator negotiators"""
)

ORGANIZATION_HEADS = wordset(
    """ministry government department agency office administration army police company firm
    committee commission council parliament court bank embassy authorities regulator union
    institute organization organisation"""
)

ROLE_HEADS = PERSON_HEADS | ORGANIZATION_HEADS

# Capitalized title words that precede a name ("Defense Minister Shin Won-shik").
TITLE_WORDS = wordset(
    """minister president secretary senator governor mayor general ambassador chancellor
    chairman chairwoman director judge justice pope king queen prince princess premier
    chief commissioner spokesperson spokesman spokeswoman admiral colonel lieutenant
    sergeant captain speaker leader envoy prosecutor attorney commander ceo"""
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

# Words in a capitalized name that mark a place or an organization rather than a person.
NON_PERSON_WORDS = wordset(
    """korea states kingdom union nations republic house ministry department agency council
    party bank university times news post press reuters associated office government army
    navy force forces command committee commission court parliament congress senate
    assembly pentagon kremlin institute center centre group corp inc ltd company
    organization organisation north south east west"""
)


def role_text(words: list[str]) -> str:
    """Normalize a role phrase: lower case, abbreviations expanded ("Sen." -> "senator")."""
    return " ".join(TITLE_ABBREVIATIONS.get(word.lower(), word.lower()) for word in words)
