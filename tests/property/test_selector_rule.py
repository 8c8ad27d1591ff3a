"""The selector rule on random texts and spans: the selector the extractor would write is
accepted, and changing any one of its fields is refused, naming that field."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.entries import Selector
from ledger.errors import InvalidInput
from ledger.extract import deterministic
from ledger.rules import SELECTOR_CONTEXT, check_quote
from tests.property.test_parse_fast import storable

texts = st.text(storable, min_size=1, max_size=200)


@st.composite
def spans(draw: st.DrawFn) -> tuple[str, Selector]:
    text = draw(texts)
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    selector = Selector(
        exact=text[start:end],
        prefix=text[max(0, start - SELECTOR_CONTEXT) : start],
        suffix=text[end : end + SELECTOR_CONTEXT],
        start=start,
        end=end,
    )
    return text, selector


def test_the_rule_uses_the_context_the_extractors_write() -> None:
    assert SELECTOR_CONTEXT == deterministic.SELECTOR_CONTEXT == 32


@settings(max_examples=200)
@given(spans())
def test_the_selector_of_a_span_is_accepted(span: tuple[str, Selector]) -> None:
    text, selector = span
    check_quote(7, selector, text)


@settings(max_examples=300)
@given(spans(), st.sampled_from(["exact", "prefix", "suffix", "start", "end"]), st.data())
def test_any_single_field_changed_is_refused(
    span: tuple[str, Selector], field: str, data: st.DataObject
) -> None:
    text, selector = span
    old = getattr(selector, field)
    if field in ("start", "end"):
        new = data.draw(st.integers(0 if field == "start" else 1, len(text) + 40))
    else:
        limit = 32 if field != "exact" else 100
        new = data.draw(st.text(storable, min_size=field == "exact", max_size=limit))
    assume(new != old)
    changed = selector.model_copy(update={field: new})
    # Moving one offset moves what is quoted: refused unless the text happens to repeat
    # itself exactly there, with the same context.
    if field in ("start", "end"):
        start, end = changed.start, changed.end
        assume(
            text[start:end] != selector.exact
            or text[max(0, start - SELECTOR_CONTEXT) : start] != selector.prefix
            or text[end : end + SELECTOR_CONTEXT] != selector.suffix
        )
    with pytest.raises(InvalidInput, match=r"^entry 7: selector (exact|prefix|suffix|end)"):
        check_quote(7, changed, text)
    if field in ("exact", "prefix", "suffix"):
        with pytest.raises(InvalidInput, match=f"selector {field} "):
            check_quote(7, changed, text)
