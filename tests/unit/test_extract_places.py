"""Place names and demonyms derived from ISO 3166 (pycountry), not from a hand list."""

from __future__ import annotations

import pytest

from ledger.extract.places import country_of, country_of_demonym, is_place
from ledger.extract.roles import name_kind


@pytest.mark.parametrize(
    ("demonym", "country"),
    [
        ("South Korean", "South Korea"),
        ("North Korean", "North Korea"),
        ("Russian", "Russia"),
        ("Ukrainian", "Ukraine"),
        ("Israeli", "Israel"),
        ("Japanese", "Japan"),
        ("Mexican", "Mexico"),
        ("German", "Germany"),
        ("Brazilian", "Brazil"),
        ("Canadian", "Canada"),
        ("French", "France"),
    ],
)
def test_demonyms(demonym: str, country: str) -> None:
    assert country_of_demonym(demonym) == country


def test_a_country_name_is_not_a_demonym() -> None:
    assert country_of_demonym("Germany") is None
    assert country_of_demonym("Ira") is None  # no rule turns Iran into a first name


@pytest.mark.parametrize(
    "name", ["Saudi Arabia", "the United States", "Gyeonggi-do", "California", "Viet Nam"]
)
def test_countries_and_subdivisions_are_places(name: str) -> None:
    assert is_place(name)


def test_people_are_not_places() -> None:
    assert not is_place("Shin Won-sik")
    assert not is_place("Kang Dae-sik")


def test_short_country_names() -> None:
    assert country_of("Korea, Republic of") == "South Korea"
    assert country_of("Russian Federation") == "Russia"
    assert country_of("U.S.") == "United States"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Saudi Arabia", "organization"),
        ("IBGE", "organization"),
        ("Bank of Korea", "organization"),
        ("Maria Lopez", "person"),
        ("Tesla", None),
    ],
)
def test_name_kinds(name: str, kind: str | None) -> None:
    assert name_kind(name) == kind
