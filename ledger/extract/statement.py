"""A claim's ``statement``: a standalone sentence kept close to the source words."""

from __future__ import annotations

import re

from ledger.extract.speech import DATELINE as _DATELINE
from ledger.extract.speech import Speech

_TERMINAL = re.compile(r"[.!?…][\"”’')\]]*$")
_CONNECTIVE = re.compile(
    r"^(?:however|meanwhile|moreover|furthermore|additionally|also|but|and|still|"
    r"nevertheless|in addition|at the same time),\s*",
    re.IGNORECASE,
)


def reported(text: str, speech: Speech, label: str) -> str:
    """The statement of reported speech, attributed to ``label`` (a name or a role)."""
    content = text[speech.content_start : speech.content_end]
    verb = _statement_verb(speech.verb)
    if speech.frame == "that":
        return _sentence(f"{label} {verb} that {content}")
    if speech.frame == "object":
        return _sentence(f"{label} {verb} {content}")
    if speech.frame == "postposed":
        return f"{_capitalized(content)}, {label} {verb}."
    if speech.frame == "according":
        if speech.content_start < speech.speaker.start:
            return f"{_capitalized(content)}, according to {label}."
        return _sentence(f"According to {label}, {content}")
    return f"{_capitalized(label)} {verb}: “{_sentence(content)}”"


def assertion(sentence: str) -> str:
    """The publication's own statement: the sentence, dateline and leading connective removed."""
    sentence = _DATELINE.sub("", sentence.strip(), count=1)
    return _sentence(_CONNECTIVE.sub("", sentence, count=1))


def _statement_verb(verb: str) -> str:
    """The verb as the statement uses it: "told" needs an object, so it becomes "said"."""
    lower = verb.lower()
    return "said" if lower in ("told", "tells") else lower


def _sentence(words: str) -> str:
    """Capitalize and end with a full stop unless already terminated."""
    words = _capitalized(words.strip().rstrip(",;:"))
    return words if _TERMINAL.search(words) else words + "."


def _capitalized(words: str) -> str:
    """Upper-case the first character only ("the minister" -> "The minister")."""
    return words[:1].upper() + words[1:]
