"""Property tests of claim lines: every figure with a subject lands on exactly one line,
points are in date-then-log order, and appending claims never moves an earlier point."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.extract.model import Quantity
from ledger.lines import LineClaim, group, subject_of

SENTENCES = [
    ("North Korea sent {n} containers of arms to Russia", "containers"),
    ("Pyongyang shipped about {n} containers to Moscow", "containers"),
    ("Russia sent {n} containers of food to North Korea", "containers"),
    ("The unemployment rate rose to {n} percent", "percent"),
    ("Inflation fell to {n} percent in May", "percent"),
    ("More than {n} people were killed in Gaza", "people"),
    ("At least {n} people died in the floods in Spain", "people"),
    ("The company said it had {n} employees", "employees"),
]


@st.composite
def claims(draw: st.DrawFn) -> list[LineClaim]:
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=12))):
        template, unit = draw(st.sampled_from(SENTENCES))
        number = str(draw(st.integers(min_value=2, max_value=99999)))
        text = template.format(n=number)
        figure = f"{number} {unit}"
        if figure not in text:
            figure = number
        day = draw(st.sampled_from([None, "2024-01-05", "2023-12-31", "2024-03-18"]))
        out.append(
            LineClaim(
                claim_id=f"c{i:02d}",
                source=draw(st.sampled_from(["a", "b", "c"])),
                text=text,
                quantities=(Quantity(value=number, unit=unit, bound="exact", text=figure),),
                made_on=day,
                made_on_precision="day" if day else None,
            )
        )
    return out


@settings(max_examples=200, deadline=None)
@given(claims(), st.data())
def test_lines_partition_the_figures_and_keep_their_order(
    found: list[LineClaim], data: st.DataObject
) -> None:
    lines = group(found)
    assert group(found) == lines
    ids = [p.id for line in lines for p in line.points]
    expected = [f"{c.claim_id}:0" for c in found if subject_of(c, c.quantities[0]) is not None]
    assert sorted(ids) == sorted(expected)
    for line in lines:
        keys = [(p.made_on is None, p.made_on or "", p.order) for p in line.points]
        assert keys == sorted(keys)
        assert line.id == min(line.points, key=lambda p: p.order).id
    cut = data.draw(st.integers(min_value=0, max_value=len(found)))
    later = {line.id: {p.id for p in line.points} for line in lines}
    for line in group(found[:cut]):
        assert {p.id for p in line.points} <= later[line.id]
