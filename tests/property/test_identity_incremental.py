"""``identity.Clusterer`` (decision 0039) gives exactly what ``cluster`` from nothing gives,
whatever the batches it is extended by: appended attributions in new and old sources,
overrides appearing between batches; a step it cannot show exact says so (None) and a new
clusterer built from nothing takes over."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.identity import Attribution, Clusterer, Identities, Override, cluster
from tests.property.test_identity_properties import NAMES, PLACES, ROLES

# Names whose rules interact (a full name and its surname, an organisation and its acronym),
# drawn more often than the rest so that in-source joins meet appended key joins.
FOCUS = ["Shin Won-sik", "Shin Won-shik", "Shin", "Defense Intelligence Agency", "DIA", "Roe"]


def same(found: Identities, expected: Identities) -> None:
    assert found.by_id == expected.by_id
    assert found.of_ref == expected.of_ref


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[list[Attribution], list[Override]]]:
    out: list[tuple[list[Attribution], list[Override]]] = []
    refs: list[str] = []
    n = 0
    for b in range(draw(st.integers(min_value=1, max_value=5))):
        batch = []
        for _ in range(draw(st.integers(min_value=0, max_value=8))):
            # mostly a source of this batch, sometimes one of an earlier batch
            source = draw(st.sampled_from([f"s{b}", f"s{b}", f"s{b}", f"t{b}", "s0"]))
            batch.append(
                Attribution(
                    ref=f"c{n:03d}",
                    source=source,
                    name=draw(st.sampled_from(FOCUS) | st.sampled_from(NAMES)),
                    role=draw(st.sampled_from(ROLES)),
                    affiliation=draw(st.sampled_from(PLACES)),
                    made_on=draw(st.sampled_from([None, "2024-03-18", "2024-02-01"])),
                )
            )
            refs.append(f"c{n:03d}")
            n += 1
        overrides: list[Override] = []
        if len(refs) >= 2 and draw(st.booleans()):
            pair = st.lists(st.sampled_from(refs), min_size=2, max_size=2, unique=True)
            overrides = [
                Override(verdict=draw(st.sampled_from(["link", "unlink"])), a=a, b=b)
                for a, b in draw(st.lists(pair, max_size=2))
            ]
        out.append((batch, overrides))
    return out


@settings(max_examples=1500, deadline=None)
@given(batches())
def test_extending_equals_clustering_from_nothing(
    steps: list[tuple[list[Attribution], list[Override]]],
) -> None:
    clusterer = Clusterer()
    seen: list[Attribution] = []
    overrides: list[Override] = []
    for batch, more in steps:
        seen += batch
        overrides += more
        before = {i: clusterer.identities.by_id[i] for i in clusterer.identities.by_id}
        change = clusterer.extend(batch, overrides)
        expected = cluster(seen, overrides)
        if change is None:  # not shown exact: from nothing
            clusterer = Clusterer()
            assert clusterer.extend(seen, overrides) is not None
            same(clusterer.identities, expected)
            continue
        same(clusterer.identities, expected)
        # only what the change names differs from before
        changed = {i.id for i in change.changed}
        assert change.gone.isdisjoint(expected.by_id)
        for identity_id in expected.by_id.keys() - changed:
            assert before[identity_id] is clusterer.identities.by_id[identity_id]
        assert set(before) - set(expected.by_id) == change.gone


def test_appended_claims_of_known_people_are_exact_without_starting_over() -> None:
    """The usual append (known names in a new source) is taken as a step, not from nothing."""
    clusterer = Clusterer()
    first = [
        Attribution(ref="a1", source="s1", name="Shin Won-sik", role="defense minister"),
        Attribution(ref="a2", source="s1", name="Shin", role="minister"),
        Attribution(ref="a3", source="s1", name="Jane Roe"),
    ]
    assert clusterer.extend(first, []) is not None
    second = [
        Attribution(ref="b1", source="s2", name="Shin Won-shik", role="defense minister"),
        Attribution(ref="b2", source="s2", name="Roe"),
        Attribution(ref="b3", source="s2", name="Jane Roe"),
        Attribution(ref="b4", source="s2", name="Kim Yo-jong"),
    ]
    change = clusterer.extend(second, [])
    assert change is not None
    same(clusterer.identities, cluster(first + second))
    assert {i.id for i in change.changed} == {"a1", "a3", "b4"}
    assert clusterer.identities.of_ref["b2"] == "a3"
