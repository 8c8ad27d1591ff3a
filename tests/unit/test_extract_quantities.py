"""Quantities: normalized decimal strings, units, approximation markers."""

from __future__ import annotations

import pytest

from ledger.extract.model import Quantity
from ledger.extract.quantities import find_quantities


def only(text: str) -> Quantity:
    (quantity,) = find_quantities(text)
    return quantity


@pytest.mark.parametrize(
    ("text", "value", "unit", "approximate", "quoted"),
    [
        (
            "approximately 7,000 containers of weapons",
            "7000",
            "containers",
            True,
            "approximately 7,000 containers",
        ),
        ("3.5 million people", "3500000", "people", False, "3.5 million people"),
        ("45% of voters", "45", "percent", False, "45%"),
        ("rose 3 percent", "3", "percent", False, "3 percent"),
        ("up 0.25 percentage points", "0.25", "percentage points", False, "0.25 percentage points"),
        ("$52.4 billion", "52400000000", "USD", False, "$52.4 billion"),
        ("€2bn in aid", "2000000000", "EUR", False, "€2bn"),
        ("12.50 dollars", "12.5", "USD", False, "12.50 dollars"),
        ("More than 100 people died", "100", "people", True, "More than 100 people"),
        ("two containers", "2", "containers", False, "two containers"),
        (
            "450,000 active-duty soldiers",
            "450000",
            "soldiers",
            False,
            "450,000 active-duty soldiers",
        ),
        ("some 500", "500", None, True, "some 500"),
    ],
)
def test_normalization(
    text: str, value: str, unit: str | None, approximate: bool, quoted: str
) -> None:
    found = only(text)
    assert (found.value, found.unit, found.approximate, found.text) == (
        value,
        unit,
        approximate,
        quoted,
    )


@pytest.mark.parametrize(
    "text",
    ["one of the best", "in 2024 the", "COVID-19 cases", "at 10:30", "1st place", "F-16 jets"],
)
def test_not_quantities(text: str) -> None:
    assert find_quantities(text) == []


def test_verbs_are_not_units() -> None:
    assert [(q.value, q.unit) for q in find_quantities("300 killed and 500 injured")] == [
        ("300", None),
        ("500", None),
    ]


def test_values_are_strings_never_floats() -> None:
    for quantity in find_quantities("0.1 tons, 1e3 and 3.50 million"):
        assert isinstance(quantity.value, str)
        assert "e" not in quantity.value.lower()


def test_skip_spans_and_window() -> None:
    text = "On March 18, 2024, 40 ships left."
    assert [q.value for q in find_quantities(text, skip=[(3, 17)])] == ["40"]
    assert [q.text for q in find_quantities(text, 18)] == ["40 ships"]
