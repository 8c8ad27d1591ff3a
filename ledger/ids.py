"""Ids as people type them: a full id, a unique hex prefix, or a GraphQL global ID.

Every command of the command line that takes a claim id, source hash, key id or entry
hash resolves it here (docs/cli.md, decision 0016). A prefix is looked up by a range scan
of the id's unique index (``low <= id < high``) in the store, never by reading a table;
an ambiguous prefix is refused with a few of the ids it matches. Sources are also found
by where they were read from (``Ledger.source_location``): a URL, or the path a local
file was ingested from.

Global IDs (``base64url("Type:key")``, no padding) are encoded and decoded here for the
API as well (``api/ids.py`` re-exports them).
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Final

from ledger.echo import echo
from ledger.errors import InvalidInput, NotFound, UsageError
from ledger.store.sql import IdKind, Store

MIN_PREFIX: Final = 6
"""The shortest prefix accepted: 16.7 million buckets, so a prefix this long is unique
in any ledger of a few thousand ids (and the store's range scan reads only its bucket)."""
SHOWN: Final = 5
"""How many matching ids an ambiguous prefix's message lists."""
FULL: Final = 64
_HEX = re.compile(r"[0-9a-fA-F]+")
_GLOBAL_TYPES: Final[dict[IdKind, tuple[str, ...]]] = {
    "claim": ("Claim",),
    "claimant": ("Claimant", "Claim"),
    "source": ("Source",),
}
_WHAT: Final[dict[IdKind, str]] = {
    "claim": "claim id",
    "claimant": "claim or claimant id",
    "source": "source SHA-256",
    "key": "key id",
    "entry": "entry hash",
}


def encode_token(text: str) -> str:
    """base64url of the UTF-8 text, without padding (global IDs and cursors)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_token(token: str, what: str) -> str:
    """The text of a base64url token; ``InvalidInput`` naming ``what`` if it is not one."""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{what} {echo(token)} is not valid") from exc


def global_id(type_name: str, key: str) -> str:
    return encode_token(f"{type_name}:{key}")


def parse_global_id(token: str) -> tuple[str, str]:
    """``(type name, key)`` of a global ID; ``InvalidInput`` if ``token`` is not one."""
    type_name, sep, key = decode_token(token, "id").partition(":")
    if not sep or not type_name or not key:
        raise InvalidInput(f"id {echo(token)} is not a global id")
    return type_name, key


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """``(low, high)`` such that a lowercase hex id starts with ``prefix`` exactly when
    ``low <= id < high`` (``high`` None: no upper bound, for a prefix of only ``f``)."""
    stem = prefix.rstrip("f")
    if not stem:
        return prefix, None
    return prefix, stem[:-1] + "0123456789abcdef"[int(stem[-1], 16) + 1]


def resolve(store: Store, kind: IdKind, text: str) -> str:
    """The full id ``text`` names: 64 hex digits as they are (upper case folded; whether
    the thing exists is for the caller to say), a prefix of at least ``MIN_PREFIX`` hex
    digits matching exactly one id, or a global ID of the right type (claims, claimants,
    sources).

    ``UsageError`` for anything else and for an ambiguous prefix; ``NotFound`` for a
    prefix nothing starts with."""
    what = _WHAT[kind]
    token = text.strip()
    if _HEX.fullmatch(token):
        return _by_hex(store, kind, token.lower(), what)
    type_names = _GLOBAL_TYPES.get(kind, ())
    if type_names:
        try:
            found_type, key = parse_global_id(token)
        except InvalidInput:
            pass
        else:
            if found_type not in type_names:
                raise UsageError(f"{echo(token)} is the global ID of a {found_type}, not a {what}")
            if len(key) == FULL and _HEX.fullmatch(key):
                return key.lower()
    also = " or its global ID" if type_names else ""
    raise UsageError(
        f"{what} {echo(text)} is not an id: give its {FULL} hex digits, a unique prefix of "
        f"at least {MIN_PREFIX}{also}"
    )


def _by_hex(store: Store, kind: IdKind, token: str, what: str) -> str:
    if len(token) == FULL:
        return token
    if len(token) > FULL:
        raise UsageError(f"{what} {echo(token)} is longer than {FULL} hex digits")
    if len(token) < MIN_PREFIX:
        raise UsageError(
            f"{what} prefix {token!r} is too short: give at least {MIN_PREFIX} hex digits"
        )
    low, high = prefix_range(token)
    found = store.ids_in_range(kind, low, high, SHOWN + 1)
    if not found:
        raise NotFound(f"no {what} in the ledger starts with {token}")
    if len(found) > 1:
        listed = ", ".join(found[:SHOWN]) + (", …" if len(found) > SHOWN else "")
        raise UsageError(
            f"{what} prefix {token} is ambiguous: it matches {listed}; give more digits"
        )
    return found[0]


def _is_global_id(token: str) -> bool:
    """True if ``token`` is base64url of ``Type:key`` (a file name rarely is)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        return False
    try:
        type_name, _ = parse_global_id(token)
    except InvalidInput:
        return False
    return type_name.isascii() and type_name.isalpha()


def is_url(text: str) -> bool:
    """True for anything of the form ``scheme://…`` (whatever the scheme)."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme))


def local_location(path: Path | str) -> str:
    """How a local file's location is recorded and looked up: its absolute path, with
    ``~``, ``.`` and ``..`` and symbolic links resolved."""
    return str(Path(path).expanduser().resolve())


def resolve_source(store: Store, text: str) -> str:
    """The SHA-256 of the source ``text`` names: an id as ``resolve`` takes it, the URL
    it was fetched from (signed ``uri`` or recorded location), or the path of the local
    file it was ingested from on this machine. Several sources read from one location
    (the file changed between ingests) are ambiguous: refused, listing them."""
    token = text.strip()
    named_like_id = bool(_HEX.fullmatch(token)) or _is_global_id(token)
    # An id unless a file of that name is here (and 64 hex digits always are an id).
    if named_like_id and (len(token) >= FULL or not Path(token).exists()):
        return resolve(store, "source", token)
    if is_url(token):
        location = token
        found = dict.fromkeys(store.sources_with_uri(token))
    else:
        location = local_location(token)
        found = {}
    for sha, _ in store.sources_at(location):
        found.setdefault(sha)
    if not found:
        raise NotFound(
            f"no source was read from {location}: give its SHA-256 (or a prefix of at least "
            f"{MIN_PREFIX}), the URL it was fetched from, or the path it was ingested from"
        )
    if len(found) > 1:
        raise UsageError(
            f"{len(found)} sources were read from {location} (it changed between ingests): "
            f"{', '.join(list(found)[:SHOWN])}; give the SHA-256 (or a prefix) of one"
        )
    return next(iter(found))


def source_filter(store: Store, text: str) -> str:
    """What a claims filter's ``source`` takes for ``text``: the one source's SHA-256, or,
    for a URL several fetches of which were registered (the page changed), the URL itself
    (``ClaimFilter.source`` matches every source whose signed ``uri`` it is)."""
    token = text.strip()
    if is_url(token) and len(store.sources_with_uri(token)) > 1:
        return token
    return resolve_source(store, text)
