"""The one check every string from outside passes before the core uses it.

Strings arrive from HTTP, the command line and submitted entries. Whatever their
source, a string the ledger stores or looks up must be one both databases can hold
and compare the same way: valid Unicode (no lone surrogates, which UTF-8 cannot
encode), no U+0000 (PostgreSQL text cannot hold it), and no longer than the entry
format's limits (docs/formats/entries.md: *text* 100,000 characters, *short* 2,000).
Identifiers (claim ids, entry hashes, source hashes, key ids) are 64 lowercase hex
digits. Each check raises ``InvalidInput`` naming the field, before any query runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ledger.echo import echo
from ledger.errors import InvalidInput

if TYPE_CHECKING:  # ledger.entries imports this module
    from ledger.entries import Rating

TEXT_LIMIT = 100_000
"""*text* in the entry format: statements, quotes, notes."""
SHORT_LIMIT = 2_000
"""*short* in the entry format: names, reasons, ratings, URIs; also every filter value."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


def string_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or compared alike on every database, or None."""
    if "\x00" in value:
        return "must not contain the NUL character (U+0000)"
    if value.isascii():  # the common case, checked without building the UTF-8 bytes
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds a lone surrogate)"
    return None


def check_string(
    value: str, field: str, *, limit: int | None = SHORT_LIMIT, empty: bool = True
) -> str:
    """``value`` if it is clean text of at most ``limit`` characters (None: any length;
    non-empty unless ``empty``); else ``InvalidInput`` naming ``field``."""
    problem = string_problem(value)
    if problem is None and limit is not None and len(value) > limit:
        problem = f"is {len(value)} characters long, over the limit of {limit}"
    if problem is None and not empty and not value:
        problem = "must not be empty"
    if problem is not None:
        raise InvalidInput(f"{field} {problem}")
    return value


_NAME_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Characters a displayed name may not hold: C0 and C1 controls (a line break, ESC, which
drives terminals) and the bidirectional embeddings, overrides and isolates (U+202E shows
what follows it reversed: "\u202egnp.exe" reads "exe.png"). The marks U+200E/U+200F stay."""


def check_display_name(value: str, field: str) -> str:
    """``value`` if it is a name that displays as written: not only whitespace, with none of
    ``_NAME_CONTROLS``; else ``InvalidInput`` naming ``field``."""
    found = _NAME_CONTROLS.search(value)
    if found is not None:
        raise InvalidInput(
            f"{field} must not hold control or bidirectional override characters "
            f"(U+{ord(found.group()):04X} at {found.start()})"
        )
    if not value.strip():
        raise InvalidInput(f"{field} must not be only whitespace")
    return value


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;(?:[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))?)*[ \t]*"
)
"""RFC 9110 section 8.3.1 ``media-type``: ``type "/" subtype`` then ``;``-separated
``name=value`` parameters (a token or a quoted string), visible ASCII, spaces and tabs only
(no ``obs-text``). Written so that every string has at most one way to match (blanks
before a ``;`` belong to its repetition, blanks after it to its parameter or the next
repetition's ``;``): no backtracking over the repetitions, so matching stays linear.
"""


def check_media_type(value: str, field: str) -> str:
    """``value`` if it is a media type as HTTP writes one (``_MEDIA_TYPE``); else
    ``InvalidInput`` naming ``field`` and the first character that breaks the grammar.

    A new source's input rule, not an entry-format rule: sources already signed with any
    short text as their media type keep verifying (the raw-source answer then leaves the
    ``X-Source-Media-Type`` header out)."""
    if _MEDIA_TYPE.fullmatch(value) is not None:
        return value
    bad = next((i for i, ch in enumerate(value) if not " " <= ch <= "~" and ch != "\t"), None)
    where = f" (U+{ord(value[bad]):04X} at {bad})" if bad is not None else ""
    raise InvalidInput(
        f"{field} {echo(value)} is not a media type such as 'text/html; charset=utf-8'{where}"
    )


def check_rating_scale(rating: Rating) -> None:
    """Refuse a rating whose scale is upside down or whose value lies outside it
    (schema.org Rating: ``worstRating`` ≤ ``ratingValue`` ≤ ``bestRating``, worst below
    best). A new review's input rule, not an entry-format rule: reviews already signed
    keep verifying."""
    best, worst, value = rating.best, rating.worst, rating.value
    if best is not None and worst is not None and not worst < best:
        raise InvalidInput(f"rating worst ({worst}) must be below rating best ({best})")
    if value is not None and best is not None and value > best:
        raise InvalidInput(f"rating value ({value}) must not be above rating best ({best})")
    if value is not None and worst is not None and value < worst:
        raise InvalidInput(f"rating value ({value}) must not be below rating worst ({worst})")


def check_optional(value: str | None, field: str, *, limit: int = SHORT_LIMIT) -> str | None:
    """``check_string`` for a value that may be absent."""
    return None if value is None else check_string(value, field, limit=limit)


def check_hex(value: str, field: str) -> str:
    """``value`` if it is a hash or id: 64 lowercase hex digits."""
    if not _HEX64.fullmatch(value):
        raise InvalidInput(f"{field} must be 64 lowercase hex digits, got {echo(value)}")
    return value


def web_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http or https URL with a host, which a page may link
    to and an export may hand on as a web address; else None. Anything a browser could run
    or resolve elsewhere (``javascript:``, ``data:``, a relative or protocol-relative
    reference, or one hiding its scheme behind whitespace or control characters, which
    browsers strip) is not a web URL."""
    if value is None or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        return None
    scheme, _, rest = value.partition(":")
    if scheme.lower() not in ("http", "https") or not rest.startswith("//"):
        return None
    host = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return value if host.rpartition("@")[2] else None


def check_web_url(value: str | None, field: str) -> str | None:
    """``value`` checked as an optional http(s) URL (``web_url``); raises InvalidInput."""
    check_optional(value, field)
    if value is not None and web_url(value) is None:
        raise InvalidInput(f"{field} {echo(value)} is not an absolute http or https URL")
    return value
