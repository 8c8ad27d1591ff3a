"""Quoting user input in error messages without echoing all of it back.

A refusal names what it refused so the caller can see the mistake, but input can be
megabytes long (a search string, a cursor, an id): ``echo`` quotes at most ``ECHO_CHARS``
characters of it and marks the cut with ``…`` and the full length (``shorten``: the
same, unquoted, for values named without quotes such as ids and hashes).
"""

from __future__ import annotations

ECHO_CHARS = 80
"""The most characters of one input value an error message quotes."""


def shorten(value: object, limit: int = ECHO_CHARS) -> str:
    """The string form of ``value``, unquoted, cut to ``limit`` characters:
    ``abc… (12345 characters)`` when longer."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def echo(value: object, limit: int = ECHO_CHARS) -> str:
    """``repr`` of ``value`` (of its string form if not a string), cut to ``limit``
    characters: ``'abc…' (12345 characters)`` when longer."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"
