"""What a reader may ask of the claims projection: filters, described once for CLI and API."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Literal

from ledger.echo import echo
from ledger.errors import InvalidInput
from ledger.inputs import check_optional
from ledger.search import SearchQuery, parse_search
from ledger.state import ClaimState

ClaimStatusFilter = Literal["active", "revised", "retracted"]


@dataclass(frozen=True, kw_only=True)
class ClaimFilter:
    """Every field narrows the result; ``None`` means no constraint.

    ``text`` is a search in the language of ``ledger.search`` over statement and quote;
    ``claimant`` matches the claimant's name (substring); ``source`` is a source SHA-256 or
    URI. Dates are ``YYYY-MM-DD`` and inclusive: ``made_*`` the day the claim was made,
    ``published_*`` the source's publication date, ``recorded_*`` the day (UTC) the ledger
    recorded the claim's extraction. Bad input raises ``InvalidInput`` (a ``SearchError``
    for a search) when the filter is made, before any query runs: every string is checked
    by ``ledger.inputs`` (clean Unicode, no NUL, at most ``MAX_FILTER_CHARS``, 1,000
    characters), so a pattern stays small and both databases answer alike.
    """

    text: str | None = None
    claimant: str | None = None
    source: str | None = None
    publisher: str | None = None
    status: ClaimStatusFilter | None = None
    made_from: str | None = None
    made_to: str | None = None
    published_from: str | None = None
    published_to: str | None = None
    recorded_from: str | None = None
    recorded_to: str | None = None
    extractor: str | None = None
    reviewed: bool | None = None
    signer: str | None = None
    quantity_unit: str | None = None
    quantity_min: str | None = None
    quantity_max: str | None = None
    """A claim matches the quantity filter when one of its quantities has the unit (its
    folded unit or the unit's head noun, ``unit_key``) and lies within [min, max]: its
    value at least ``quantity_min``, its value and its range's ``high`` at most
    ``quantity_max`` (decimal strings; either bound may be left out)."""

    def __post_init__(self) -> None:
        for name, label in _STRING_FIELDS.items():
            check_optional(getattr(self, name), label, limit=MAX_FILTER_CHARS)
        if self.text is not None:
            parse_search(self.text)
        for f in fields(self):
            if f.name.endswith(("_from", "_to")):
                parse_date(getattr(self, f.name), f.name)
        for what in ("made", "published", "recorded"):
            start, end = getattr(self, f"{what}_from"), getattr(self, f"{what}_to")
            if start is not None and end is not None and start > end:
                raise InvalidInput(f"{what}_from {start} is after {what}_to {end}")
        low = parse_decimal(self.quantity_min, "quantity_min")
        high = parse_decimal(self.quantity_max, "quantity_max")
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"quantity_min {low} is above quantity_max {high}")
        if self.quantity_unit is not None and unit_key(self.quantity_unit) is None:
            raise InvalidInput("quantity_unit has no word to look for")

    @property
    def quantity_filtered(self) -> bool:
        """Whether the filter constrains the claims' quantities."""
        return any(
            v is not None for v in (self.quantity_unit, self.quantity_min, self.quantity_max)
        )

    @property
    def search(self) -> SearchQuery | None:
        return parse_search(self.text) if self.text is not None else None


_STRING_FIELDS = {
    name: "search" if name == "text" else name
    for name in (
        "text",
        "claimant",
        "source",
        "publisher",
        "extractor",
        "signer",
        "quantity_unit",
        "quantity_min",
        "quantity_max",
    )
}
MAX_FILTER_CHARS = 1000
"""The longest text a filter value (a name, a URI, a substring) may be."""


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?")


def parse_decimal(value: str | None, name: str) -> Decimal | None:
    """A plain decimal number (``7000``, ``-1.5``; no exponent), or ``InvalidInput``."""
    if value is None:
        return None
    if not _DECIMAL.fullmatch(value):
        raise InvalidInput(
            f"{name} must be a decimal number such as 7000 or 1.5, got {echo(value)}"
        )
    return Decimal(value)


def unit_key(unit: str | None) -> str | None:
    """A unit as the quantity filter compares it: case folded, whitespace collapsed
    ("Shipping  Containers" -> "shipping containers"); None for none."""
    if unit is None:
        return None
    key = " ".join(unit.casefold().split())
    return key or None


def head_unit(unit: str | None) -> str | None:
    """The head noun of a unit: its last word before any "of" phrase ("shipping
    containers" -> "containers", "tons of ammunition" -> "tons"); None for none."""
    key = unit_key(unit)
    if key is None:
        return None
    words = key.split(" ")
    if "of" in words[1:]:
        words = words[: words.index("of", 1)]
    return words[-1]


def figure(value: str) -> float:
    """A quantity's decimal string as the number the quantity index holds (a double:
    exact to 15 significant digits)."""
    return float(Decimal(value))


def parse_date(value: str | None, name: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date, or ``InvalidInput`` naming the field."""
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD, got {echo(value)}") from None


def next_day(value: str) -> str:
    """The day after a ``YYYY-MM-DD`` date (the exclusive end of an inclusive range)."""
    day = parse_date(value, "date")
    assert day is not None
    return (day + dt.timedelta(days=1)).isoformat() if day < dt.date.max else "9999-12-32"


OrderField = Literal["recorded", "made_on", "source_published", "score"]
ORDER_FIELDS: tuple[OrderField, ...] = ("recorded", "made_on", "source_published", "score")


@dataclass(frozen=True, slots=True)
class ClaimOrder:
    """How claims are listed: by a sort value, then by extraction sequence number.

    ``recorded`` is extraction order (the sequence number itself: timestamps never go
    backwards). A missing date sorts as the earliest: first ascending, last descending.
    """

    field: OrderField = "recorded"
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Position:
    """A claim's place in an order: its sort value (``''`` for a missing date) and seq."""

    key: str | int
    seq: int


def sort_value(claim: ClaimState, field: OrderField) -> str | int:
    """The value ``field`` sorts ``claim`` by (as the store computes it)."""
    if field == "recorded":
        return claim.seq
    if field == "score":
        return claim.score
    if field == "made_on":
        return claim.made_on or ""
    return claim.source_published or ""


def position_of(claim: ClaimState, order: ClaimOrder) -> Position:
    return Position(sort_value(claim, order.field), claim.seq)


def check_position(position: Position, order: ClaimOrder) -> None:
    """A position must hold a sort value of the order's kind (positions come from cursors)."""
    key, field = position.key, order.field
    if field in ("recorded", "score"):
        valid = isinstance(key, int) and (field == "score" or key == position.seq)
    else:
        valid = isinstance(key, str) and (key == "" or _DATE.fullmatch(key) is not None)
    if not valid or position.seq < 0:
        raise InvalidInput(f"position {echo(key)}/{position.seq} is not a place in order {field}")
