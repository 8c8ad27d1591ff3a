"""Property tests of quantity finding: exact spans in order without overlaps, plain decimal
values, ranges that rise, and the same answer with unrelated text around a phrase."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.extract.quantities import find_quantities

PHRASES = [
    "approximately 7,000 containers", "13,000 sea containers", "4.8 million artillery shells",
    "6 million 152-millimeter artillery shells", "dozens of ballistic missiles", "a third of",
    "half a million people", "$1.2bn", "£30m", "€2 billion", "US$5", "Rs 500 crore",
    "30 per cent", "3.5pc", "2.5 percentage points", "between 12 and 17 percent", "12-17%",
    "from 5,000 to 7,000 troops", "more than 100 people", "at least 5", "up to 70,000",
    "fewer than 10", "some 500", "~300", "in 2023", "2022-23", "COVID-19", "F-16", "March 5",
    "10:30", "3 p.m.", "1st", "Apollo 11", "555-0100", "thirteen thousand", "one-thousand",
    "two dozen", "a fifth of", "1,000 tons of rice", "450,000 active-duty soldiers",
]  # fmt: skip
NOISE = ["The council met.", "Prices rose sharply.", "\n\n", "It rained.", "Officials agreed."]
SMALL = [" ", ", ", " and ", " to ", "-", "$", "%", "1", "5.5", ",", ".", " million", " lakh"]
PIECES = PHRASES + NOISE + SMALL + [" crore", "bn", " in ", " of ", "between ", "a ", "one"]

texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join) | st.text(
    alphabet=st.sampled_from("0123456789,.-–$€£%~ abcmkts\n"), max_size=120
)


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_spans_are_exact_ordered_and_disjoint(text: str) -> None:
    previous_end = 0
    for quantity in find_quantities(text):
        start = text.find(quantity.text, previous_end)
        assert start >= previous_end, (quantity, previous_end)
        previous_end = start + len(quantity.text)
        value = Decimal(quantity.value)
        assert quantity.value == format(value.normalize(), "f")
        if quantity.high is not None:
            assert value < Decimal(quantity.high)


@settings(max_examples=500, deadline=None)
@given(text=texts, begin=st.integers(0, 200), size=st.integers(0, 200))
def test_a_window_finds_only_quantities_inside_it(text: str, begin: int, size: int) -> None:
    begin = min(begin, len(text))
    end = min(len(text), begin + size)
    window = text[begin:end]
    for quantity in find_quantities(text, begin, end):
        assert quantity.text in window


@settings(max_examples=300, deadline=None)
@given(phrase=st.sampled_from(PHRASES), before=st.sampled_from(NOISE), after=st.sampled_from(NOISE))
def test_noise_around_a_phrase_changes_nothing(phrase: str, before: str, after: str) -> None:
    assert find_quantities(f"{before} {phrase}. {after}") == find_quantities(phrase)
