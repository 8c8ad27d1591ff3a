"""Word lists and the surface cues they signal: figures, dates, attribution, modality.

Only closed grammatical classes and general vocabulary live here (numbers, months, reporting
verbs, modal verbs, pronouns); which words mark opinion or analysis is learned from labelled
data by the check-worthiness model, not listed by hand.
"""

from __future__ import annotations

import re

from ledger.extract.lexicon import VERB_TAGS, penn_tags


def wordset(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string (easier to read than a list)."""
    return frozenset(words.split())


# Past/present forms of verbs that report what someone said; base form -> inflections. The
# forms listed here are completed from the lexicon (see ``_inflected``); verbs with an
# irregular past are listed in full.
_LISTED_VERBS: dict[str, tuple[str, ...]] = {
    "say": ("said", "says", "say", "saying"),
    "tell": ("told", "tells", "telling"),
    "announce": ("announced", "announces", "announcing", "announce"),
    "state": ("stated", "states", "stating"),
    "claim": ("claimed", "claims", "claiming"),
    "add": ("added", "adds", "adding"),
    "note": ("noted", "notes", "noting"),
    "warn": ("warned", "warns", "warning", "warn"),
    "confirm": ("confirmed", "confirms", "confirming", "confirm"),
    "deny": ("denied", "denies", "denying"),
    "reveal": ("revealed", "reveals", "revealing"),
    "report": ("reported", "reports", "reporting"),
    "argue": ("argued", "argues", "arguing", "argue"),
    "insist": ("insisted", "insists", "insisting", "insist"),
    "explain": ("explained", "explains", "explaining"),
    "acknowledge": ("acknowledged", "acknowledges", "acknowledging"),
    "admit": ("admitted", "admits", "admitting"),
    "estimate": ("estimated", "estimates", "estimating", "estimate"),
    "affirm": ("affirmed", "affirms", "affirming"),
    "reaffirm": ("reaffirmed", "reaffirms", "reaffirming"),
    "underscore": ("underscored", "underscores", "underscoring"),
    "stress": ("stressed", "stresses", "stressing"),
    "emphasize": ("emphasized", "emphasizes", "emphasizing", "emphasised", "emphasising"),
    "assert": ("asserted", "asserts", "asserting"),
    "allege": ("alleged", "alleges", "alleging"),
    "disclose": ("disclosed", "discloses", "disclosing"),
    "testify": ("testified", "testifies", "testifying"),
    "write": ("wrote", "writes", "writing"),
    "tweet": ("tweeted", "tweets", "tweeting"),
    "declare": ("declared", "declares", "declaring"),
    "pledge": ("pledged", "pledges", "pledging"),
    "promise": ("promised", "promises", "promising"),
    "accuse": ("accused", "accuses", "accusing"),
    "predict": ("predicted", "predicts", "predicting", "predict"),
    "suspect": ("suspected", "suspects"),
    "conclude": ("concluded", "concludes"),
    "find": ("found", "finds"),
    "show": ("showed", "shows", "show", "showing"),
    "contend": ("contended", "contends"),
    "complain": ("complained", "complains"),
    "expect": ("expects", "expect"),
    "indicate": ("indicated", "indicating"),
    "determine": ("determined", "determines"),
    "read": ("reads",),
}

# Verbs of communication from Levin (1993, English Verb Classes and Alternations), the
# classes whose complement is an assertion: "say" verbs (37.7), "advise" verbs (37.9,
# "assured the public that ..."), "complain" verbs (37.8). Left out: those whose
# complement is a proposal or an order (propose, instruct, counsel, admonish, enlighten),
# and those mostly used in another sense (relate, convey, articulate, repeat, brief).
_LEVIN_VERBS = wordset(
    """announce blurt claim confess confide declare mention note observe proclaim recount
    reiterate remark report reveal say state suggest advise alert apprise assure caution
    inform notify warn boast brag complain grouse moan whine"""
)
# Verbs of belief held by the subject ("researchers believe that ..."), Levin's
# "conjecture" verbs (29.5) that news attributes, like "suspect" above. A passive of one
# ("is believed to") states a common belief, not a report: see ``speech.raised_report``.
BELIEF_VERBS = wordset("believe suspect")


def _inflected(base: str) -> dict[str, str]:
    """The regular inflections of ``base`` that the lexicon knows, by their Penn tag:
    "assure" -> VBZ assures, VBD assured, VBG assuring (and VB assure when the lexicon
    reads the bare form as a verb first, not "note" or "report")."""
    tags = penn_tags()
    stem = base[:-1] if base.endswith("e") and not base.endswith("ee") else base
    doubled = base + base[-1] if re.fullmatch(r".*[^aeiou][aeiou][bdgmnprt]", base) else base
    ies = base[:-1] + "ie" if re.fullmatch(r".*[^aeiou]y", base) else None
    candidates = {
        "VBZ": [f"{ies}s" if ies else "", base + "es", base + "s"],
        "VBD": [f"{ies}d" if ies else "", stem + "ed", doubled + "ed"],
        "VBG": [stem + "ing", doubled + "ing", base + "ing"],
    }
    found: dict[str, str] = {}
    if tags.get(base) in VERB_TAGS:
        found["VB"] = base
    for tag, forms in candidates.items():
        for form in forms:
            if form and form in tags:
                found[tag] = form
                break
    return found


def _reporting_verbs() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """Every reporting verb with its forms (the simple past first), and the forms read
    more often as a noun or adjective than as a verb ("remarks", "gripes"), which only
    count after a subject like the listed ones in ``AMBIGUOUS_FORMS``."""
    tags = penn_tags()
    verbs: dict[str, tuple[str, ...]] = {}
    ambiguous: set[str] = set()
    for base in sorted(set(_LISTED_VERBS) | _LEVIN_VERBS | BELIEF_VERBS):
        listed = _LISTED_VERBS.get(base, ())
        if listed and not listed[0].endswith("ed"):
            verbs[base] = listed  # irregular ("said", "told", "wrote"): listed in full
            continue
        derived = _inflected(base)
        forms = list(listed)
        for tag in ("VBD", "VBZ", "VB", "VBG"):
            form = derived.get(tag)
            if form is None or form in forms:
                continue
            if tag == "VBD" and not listed:
                forms.insert(0, form)
            else:
                forms.append(form)
            if tag == "VB" or tags.get(form) not in VERB_TAGS:
                ambiguous.add(form)
        verbs[base] = tuple(forms)
    return verbs, frozenset(ambiguous)


REPORTING_VERBS, _DERIVED_AMBIGUOUS = _reporting_verbs()

# Inflected form -> (base, is_gerund); "saying" style forms continue an earlier clause.
REPORTING_FORMS: dict[str, tuple[str, bool]] = {
    form: (base, form.endswith("ing")) for base, forms in REPORTING_VERBS.items() for form in forms
}

# Forms that are also common nouns or adjectives and so only count after a subject.
AMBIGUOUS_FORMS = (
    frozenset(
        {
            "states",
            "claims",
            "notes",
            "reports",
            "estimates",
            "promises",
            "suspects",
            "finds",
            "shows",
            "estimate",
            "warn",
            "confirm",
            "announce",
        }
    )
    | _DERIVED_AMBIGUOUS
)

# News reports speech in the past tense ("said", "announced"); the present tense of the same
# verbs ("underscores", "affirms") mostly marks the writer's own analysis, so only these
# forms count as an attribution cue.
_ATTRIBUTION_FORMS = frozenset(
    form
    for form in REPORTING_FORMS
    if form.endswith("ed") or form in ("said", "says", "told", "wrote")
)

# Modal verbs, a closed grammatical class (with their negative contractions): they mark
# possibility, obligation and prediction rather than a stated fact. Whether that lowers
# check-worthiness, and by how much, is learned from the data, not set here.
MODALS = wordset(
    """can could may might must shall should will would ought cannot can't couldn't mayn't
    mightn't mustn't shan't shouldn't won't wouldn't oughtn't"""
)

MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_SCALE_WORDS = wordset("hundred thousand million billion trillion dozen")
_NUMBER_WORDS = wordset(
    """two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty
    fifty sixty seventy eighty ninety half"""
)
_COMPARATIVES = wordset(
    """more most less least fewer fewest higher highest lower lowest largest biggest smallest
    increase increased decrease decreased doubled tripled record"""
)
_FUTURE = wordset("will going gonna shall")
_FIRST_PERSON = wordset("i we i'm we're i've we've my our")
# "may" is left out of the date words: it is far more often a modal than a month.
_DATE_WORDS = frozenset(MONTHS) - {"may"} | frozenset(WEEKDAYS) | {"yesterday", "today"}

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d(?:[\d,]*\d)?(?:\.\d+)?|[%$€£?]")
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_CAPITALIZED = re.compile(r"[A-Z][a-z]")


def words(sentence: str) -> list[str]:
    """Word, number and symbol tokens of a sentence, in order, original case."""
    return _WORD.findall(sentence)


def cues(sentence: str) -> dict[str, int]:
    """Count each cue (number, date, attribution, modal, question...) of a sentence."""
    tokens = words(sentence)
    lower = [token.lower().replace("’", "'") for token in tokens]
    counts: dict[str, int] = {}
    for index, token in enumerate(tokens):
        for cue in _token_cues(token, lower[index], index):
            counts[cue] = counts.get(cue, 0) + 1
    if "according to" in " ".join(lower):
        counts["according_to"] = 1
    if sentence.rstrip().rstrip("\"”’'").endswith("?"):
        counts["question"] = 1
    return counts


def _token_cues(token: str, lower: str, index: int) -> list[str]:
    """The cues one token signals (a token may signal several)."""
    found = [cue for cue, words_ in _WORD_CUES if lower in words_]
    if token[0].isdigit():
        found.append("year" if _YEAR.fullmatch(token) else "number")
    elif token == "%" or lower in ("percent", "percentage"):
        found.append("percent")
    elif token in "$€£" or lower in ("dollars", "euros", "pounds"):
        found.append("money")
    elif index > 0 and _CAPITALIZED.match(token) and lower not in _FIRST_PERSON:
        found.append("proper_noun")
    if lower in _ATTRIBUTION_FORMS:
        found.append("attribution")
    if lower in ("not", "never", "no") or lower.endswith("n't"):
        found.append("negation")
    return found


_WORD_CUES: tuple[tuple[str, frozenset[str]], ...] = (
    ("scale", _SCALE_WORDS),
    ("number", _NUMBER_WORDS),
    ("date", _DATE_WORDS),
    ("comparative", _COMPARATIVES),
    ("modal", MODALS),
    ("future", _FUTURE),
    ("first_person", _FIRST_PERSON),
)
