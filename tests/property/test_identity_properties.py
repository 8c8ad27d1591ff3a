"""Property tests of identity clustering: deterministic, independent of input order when no
rule can refuse a union, stable as attributions are appended, and reviewer overrides that
undo each other restore the clustering."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.identity import Attribution, Override, cluster

NAMES = [
    "Shin Won-sik", "Shin Won-shik", "Defense Minister Shin Won-sik", "Shin", "Won-sik Shin",
    "Kim Jong-un", "Gim Jong Un", "Kim", "Kim Yo-jong", "Mohammed bin Salman",
    "Muhammad bin Salman", "Defense Intelligence Agency", "DIA",
    "Defense Intelligence Agency (DIA)", "the Pentagon", "Pentagon", "Ministry of Defence",
    "Defense Ministry", "Jane Roe", "Roe", "U.S. Army", "US Army",
]  # fmt: skip
SOURCES = ["a", "b", "c"]
PLACES = [None, "South Korea", "South Korean", "Russia", "United States"]
ROLES = [None, "defense minister", "minister", "lawmaker", "spokesperson"]


@st.composite
def attributions(draw: st.DrawFn, *, conflicts: bool) -> list[Attribution]:
    count = draw(st.integers(min_value=0, max_value=14))
    out = []
    for i in range(count):
        out.append(
            Attribution(
                ref=f"c{i:02d}",
                source=draw(st.sampled_from(SOURCES)),
                name=draw(st.sampled_from(NAMES)),
                role=draw(st.sampled_from(ROLES)) if conflicts else None,
                affiliation=draw(st.sampled_from(PLACES)) if conflicts else None,
                made_on=draw(st.sampled_from([None, "2024-03-18", "2024-02-01"])),
            )
        )
    return out


@st.composite
def overrides(draw: st.DrawFn, refs: list[str]) -> list[Override]:
    if len(refs) < 2:
        return []
    pair = st.lists(st.sampled_from(refs), min_size=2, max_size=2, unique=True)
    return [
        Override(verdict=draw(st.sampled_from(["link", "unlink"])), a=a, b=b)
        for a, b in draw(st.lists(pair, max_size=4))
    ]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_partition_does_not_depend_on_input_order_without_conflicts(data: st.DataObject) -> None:
    atts = data.draw(attributions(conflicts=False))
    shuffled = data.draw(st.permutations(atts))
    assert cluster(shuffled).partition() == cluster(atts).partition()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_clustering_is_deterministic_and_ids_are_first_members(data: st.DataObject) -> None:
    atts = data.draw(attributions(conflicts=True))
    fixes = data.draw(overrides([a.ref for a in atts]))
    first, second = cluster(atts, fixes), cluster(list(atts), list(fixes))
    assert first == second
    order = {a.ref: i for i, a in enumerate(atts)}
    for identity in first.by_id.values():
        assert identity.id == min(identity.members, key=order.__getitem__)
        assert list(identity.members) == sorted(identity.members, key=order.__getitem__)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_repeating_overrides_changes_nothing(data: st.DataObject) -> None:
    atts = data.draw(attributions(conflicts=True))
    fixes = data.draw(overrides([a.ref for a in atts]))
    assert cluster(atts, fixes + fixes) == cluster(atts, fixes)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_link_then_an_unlink_restores(data: st.DataObject) -> None:
    atts = data.draw(attributions(conflicts=True))
    before = cluster(atts)
    ids = sorted(before.by_id)
    if len(ids) < 2:
        return
    a, b = data.draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
    linked = cluster(atts, [Override(verdict="link", a=a, b=b)])
    assert linked.of_ref[a] == linked.of_ref[b]
    restored = cluster(
        atts, [Override(verdict="link", a=a, b=b), Override(verdict="unlink", a=a, b=b)]
    )
    assert restored == before


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_an_unlink_always_holds(data: st.DataObject) -> None:
    atts = data.draw(attributions(conflicts=True))
    fixes = data.draw(overrides([a.ref for a in atts]))
    found = cluster(atts, fixes)
    last: dict[frozenset[str], str] = {}
    for fix in fixes:
        last[frozenset((fix.a, fix.b))] = fix.verdict
    for pair, verdict in last.items():
        a, b = sorted(pair)
        if verdict == "unlink":
            assert found.of_ref[a] != found.of_ref[b]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_appending_only_grows_identities_and_keeps_their_ids(data: st.DataObject) -> None:
    atts = data.draw(attributions(conflicts=False))
    cut = data.draw(st.integers(min_value=0, max_value=len(atts)))
    sources = {a.source for a in atts[cut:]}
    # A source's claims are appended together: a later prefix never splits one source.
    prefix = [a for a in atts[:cut] if a.source not in sources]
    rest = [a for a in atts if a not in prefix]
    early, full = cluster(prefix), cluster(prefix + rest)
    for identity in early.by_id.values():
        grown = full.of(identity.id)
        assert grown is not None and set(identity.members) <= set(grown.members)
        assert grown.id == identity.id or grown.id in early.of_ref
