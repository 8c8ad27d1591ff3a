"""Place names and demonyms from ISO 3166 (the ``pycountry`` data): "South Korea", "Korean".

Loaded once, on first use. A name is a place when the whole name is a country or a
subdivision ("Saudi Arabia", "Gyeonggi-do", "California"), so it is never a person.
"""

from __future__ import annotations

import functools
import importlib.metadata

import pycountry

# Countries known by a short form that ISO 3166 does not spell out ("Russia", "the U.S.").
_EXTRA_ALIASES = {
    "Russia": "Russian Federation",
    "Russian Federation": "Russian Federation",
    "U.S.": "United States",
    "US": "United States",
    "USA": "United States",
    "America": "United States",
    "U.K.": "United Kingdom",
    "UK": "United Kingdom",
    "Britain": "United Kingdom",
    "Great Britain": "United Kingdom",
    "DPRK": "North Korea",
    "Korea": "South Korea",
}
# Demonyms the suffix rules below cannot derive.
_IRREGULAR_DEMONYMS = {
    "American": "United States",
    "British": "United Kingdom",
    "French": "France",
    "Dutch": "Netherlands",
    "Swiss": "Switzerland",
    "Greek": "Greece",
    "Spanish": "Spain",
    "Finnish": "Finland",
    "Swedish": "Sweden",
    "Danish": "Denmark",
    "Irish": "Ireland",
    "Filipino": "Philippines",
    "Thai": "Thailand",
    "Chinese": "China",
    "Vietnamese": "Vietnam",
    "Turkish": "Türkiye",
    "Polish": "Poland",
    "Norwegian": "Norway",
    "Peruvian": "Peru",
    "Argentine": "Argentina",
    "Saudi": "Saudi Arabia",
    "Belgian": "Belgium",
}
# Suffix rules, most productive first: (the name ends with, letters dropped, letters added).
_DEMONYM_RULES = (
    ("a", 0, "n"),  # Korea -> Korean, Russia -> Russian
    ("", 0, "ian"),  # Iran -> Iranian, Brazil -> Brazilian
    ("e", 1, "ian"),  # Ukraine -> Ukrainian
    ("y", 1, "ian"),  # Italy -> Italian
    ("a", 1, "ian"),  # Canada -> Canadian
    ("", 0, "i"),  # Israel -> Israeli, Pakistan -> Pakistani
    ("", 0, "ese"),  # Japan -> Japanese
    ("o", 1, "an"),  # Mexico -> Mexican
    ("y", 1, ""),  # Germany -> German
)
_COMPASS = ("North", "South", "East", "West")


def data_version() -> str:
    """The version of the ISO 3166 data in use (it decides the output, like a rule file)."""
    return importlib.metadata.version("pycountry")


def is_place(name: str) -> bool:
    """True when ``name`` is, as a whole, a country or subdivision name ("the" allowed)."""
    if name.startswith("the "):
        name = name[4:]
    return name in _places()


@functools.cache
def place_words() -> frozenset[str]:
    """Lower-case words of place names and demonyms ("south", "korea", "korean"), small
    connecting words left out: what may qualify a title ("South Korean Defense Minister")."""
    words: set[str] = {word.lower() for word in _COMPASS}
    for name in (*_places(), *_demonyms()):
        words.update(w for w in name.lower().split() if w.isalpha() and len(w) > 2)
    return frozenset(words - _CONNECTING)


_CONNECTING = frozenset({"the", "and", "of", "new", "saint", "san", "santa", "city", "del"})


def country_of_demonym(words: str) -> str | None:
    """The country a demonym names: "South Korean" -> "South Korea", "Russian" -> "Russia"."""
    return _demonyms().get(words)


def country_of(name: str) -> str | None:
    """The usual short name of a country given by any of its names, else None."""
    return _countries().get(name)


@functools.cache
def _countries() -> dict[str, str]:
    """Every spelling of every country -> the short name news uses."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        short = _short_name(country)
        for field in ("name", "official_name", "common_name"):
            value = getattr(country, field, None)
            if value:
                names[value] = short
                names.setdefault(value.split(",")[0], short)
        names[short] = short
    for alias, target in _EXTRA_ALIASES.items():
        names[alias] = names.get(target, target)
    return names


def _short_name(country: object) -> str:
    """ "South Korea" rather than "Korea, Republic of"; "Russia" rather than the Federation."""
    common = getattr(country, "common_name", None)
    name = str(getattr(country, "name", ""))
    if common:
        return str(common)
    if name == "Russian Federation":
        return "Russia"
    return name.split(",")[0]


@functools.cache
def _places() -> frozenset[str]:
    """Country and subdivision names (the ISO 3166-2 names, and the part before a comma)."""
    names = set(_countries())
    for subdivision in pycountry.subdivisions:
        names.add(subdivision.name)
        names.add(subdivision.name.split(",")[0])
    return frozenset(names)


@functools.cache
def _demonyms() -> dict[str, str]:
    """Demonym -> country short name, derived by suffix rules from the country names."""
    stems: list[tuple[str, str, str]] = []  # (prefix, one-word stem, country)
    for short in sorted(set(_countries().values())):
        first, _, rest = short.partition(" ")
        if " " not in short:
            stems.append(("", short, short))
        elif first in _COMPASS and " " not in rest:
            stems.append((first + " ", rest, short))
    demonyms: dict[str, str] = {}
    for ending, drop, add in _DEMONYM_RULES:
        for prefix, stem, country in stems:
            base = stem[: len(stem) - drop] if drop else stem
            if stem.endswith(ending) and base + add != stem:
                demonyms.setdefault(prefix + base + add, country)
    for demonym, country in _IRREGULAR_DEMONYMS.items():
        demonyms[demonym] = country
    for name in _countries():
        demonyms.pop(name, None)  # a rule must not turn a country's own name into a demonym
    return demonyms
