"""Identity rules: name keys across spellings, titles and romanizations; clustering of
attributions with source-scoped rules, affiliation conflicts and reviewer overrides."""

from __future__ import annotations

import pytest

from ledger.identity import (
    Attribution,
    Override,
    affiliation_key,
    cluster,
    name_key,
    role_label,
    role_only_label,
    strip_titles,
)


def att(ref: str, name: str | None, source: str = "s1", **more: str | None) -> Attribution:
    return Attribution(ref=ref, source=source, name=name, **more)  # type: ignore[arg-type]


def same_key(a: str, b: str) -> bool:
    ka, kb = name_key(a), name_key(b)
    assert ka is not None and kb is not None
    return bool(set(ka.keys) & set(kb.keys)) and ka.kind == kb.kind


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Shin Won-shik", "Shin Won-sik"),  # McCune-Reischauer / Revised romanization
        ("Shin Won-sik", "Shin Wonsik"),  # hyphen variants
        ("Shin Won-sik", "Won-sik Shin"),  # name order
        ("Defense Minister Shin Won-sik", "Shin Won-sik"),  # titles
        ("Dr. Jane Roe Jr.", "Jane Roe"),  # honorific and suffix
        ("Kim Jong-un", "Gim Jong Un"),  # k/g, hyphen/space
        ("Pak Geun-hye", "Bak Geun-hye"),  # p/b
        ("Mohammed bin Salman", "Muhammad bin Salman"),
        ("Mohamed Salah", "Muhammad Salah"),
        ("Sergei Ivanoff", "Sergey Ivanov"),  # -off/-ov, y/i
        ("Volodymyr Zelensky", "Volodymyr Zelenskyy"),
        ("Muammar Gaddafi", "Mouammar Qaddafi"),  # ou/u, q/g/k
        ("Bashar al-Assad", "Bashar Assad"),  # Arabic article
        ("José Álvarez", "Jose Alvarez"),  # diacritics
        ("Rep. Kang Dae-sik", "Kang Dae-sik"),
        ("Secretary of State Antony Blinken", "Antony Blinken"),
        ("the Defense Intelligence Agency", "Defense Intelligence Agency"),
        ("Ministry of Defence", "Defense Ministry"),
        ("Defence Ministry", "Ministry of Defense"),
        ("U.S. Army", "US Army"),
        ("United States Army", "U.S. Army"),
        ("Labour Party", "Labor Party"),
        ("Defense Intelligence Agency (DIA)", "DIA"),
    ],
)
def test_spellings_of_one_name_share_a_key(a: str, b: str) -> None:
    assert same_key(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Shin Won-sik", "Shin Dong-hyuk"),
        ("Kim Jong-un", "Kim Yo-jong"),
        ("Li Wei", "Liu Wei"),
        ("Ministry of Defense", "Ministry of Finance"),
        ("Shin Won-sik", "Shin Won-sik Foundation"),  # a person and an organisation
    ],
)
def test_different_names_do_not_share_a_key(a: str, b: str) -> None:
    assert not same_key(a, b)


def test_titles_are_stripped_but_a_name_of_only_titles_is_kept() -> None:
    assert strip_titles("South Korean Defense Minister Shin") == "Shin"
    assert strip_titles("Prime Minister") == "Prime Minister"
    assert strip_titles("President Joe Biden") == "Joe Biden"
    assert strip_titles("Martin Luther King Jr.") == "Martin Luther King"


def test_roles_fold_spelling_and_the_repeated_country() -> None:
    assert role_label("south korean defence minister", "South Korea") == "defense minister"
    assert role_label("Defense Minister", None) == "defense minister"
    assert role_label("south korean defence minister", None) == "defense minister"
    assert role_label("foreign minister", None) == "foreign minister"
    assert role_label("human rights lawyer", None) == "human rights lawyer"
    assert affiliation_key("South Korea") == affiliation_key("South Korean")
    assert affiliation_key("U.S.") == affiliation_key("United States")


def test_the_issue_measurement_gives_one_claimant_with_one_role() -> None:
    found = cluster(
        [
            att("c1", "Shin Won-shik", "seed", role="defense minister", affiliation="South Korea"),
            att("c2", "Shin Won-sik", "yonhap", role="south korean defence minister"),
            att("c3", "Shin Won-sik", "nk", role="defense minister", affiliation="South Korea"),
            att("c4", "Shin", "nk", role="minister", affiliation="South Korea"),
        ]
    )
    assert len(found.by_id) == 1
    shin = found.by_id["c1"]
    assert shin.name in {"Shin Won-sik", "Shin Won-shik"}
    assert set(shin.names) == {"Shin Won-shik", "Shin Won-sik", "Shin"}
    assert shin.members == ("c1", "c2", "c3", "c4")


def test_role_spans_give_first_and_last_dates() -> None:
    found = cluster(
        [
            att("c1", "Jane Roe", "a", role="senator", made_on="2020-01-05"),
            att("c2", "Jane Roe", "b", role="senator", made_on="2019-03-01"),
            att("c3", "Jane Roe", "c", role="Secretary of State", made_on="2023-02-01"),
            att("c4", "Jane Roe", "d", role=None, made_on=None),
        ]
    )
    roles = found.by_id["c1"].roles
    assert [(r.role, r.first, r.last) for r in roles] == [
        ("senator", "2019-03-01", "2020-01-05"),
        ("secretary of state", "2023-02-01", "2023-02-01"),
    ]


def test_conflicting_affiliations_keep_two_people_apart() -> None:
    found = cluster(
        [
            att("c1", "Shin Won-sik", "a", affiliation="South Korea"),
            att("c2", "Shin Won-sik", "b", affiliation="Russia"),
            att("c3", "Shin Won-sik", "c"),
        ]
    )
    assert found.partition() == {frozenset({"c1", "c3"}), frozenset({"c2"})}


def test_a_surname_links_to_the_unique_full_name_of_its_own_source_only() -> None:
    found = cluster(
        [
            att("c1", "Shin Won-sik", "a", role="defense minister"),
            att("c2", "Shin", "a", role="minister"),
            att("c3", "Shin", "b"),  # no full name in source b
            att("c4", "Kim Jong-un", "c"),
            att("c5", "Kim Yo-jong", "c"),
            att("c6", "Kim", "c"),  # two full names end or begin with Kim: ambiguous
        ]
    )
    assert found.of_ref["c2"] == "c1"
    assert found.of_ref["c3"] == "c3"
    assert found.of_ref["c6"] == "c6"


def test_a_surname_with_a_role_of_another_function_stays_apart() -> None:
    found = cluster(
        [
            att("c1", "Shin Won-sik", "a", role="defense minister"),
            att("c2", "Shin", "a", role="lawmaker"),
        ]
    )
    assert found.of_ref["c2"] == "c2"


def test_an_acronym_joins_its_expansion_in_one_source_and_carries_to_others() -> None:
    found = cluster(
        [
            att("c1", "DIA", "b"),  # first seen alone, in another article
            att("c2", "Defense Intelligence Agency", "a"),
            att("c3", "DIA", "a"),
            att("c4", "the Defence Intelligence Agency", "c"),
        ]
    )
    assert found.partition() == {frozenset({"c1", "c2", "c3", "c4"})}
    assert found.by_id["c1"].name == "Defense Intelligence Agency"


def test_an_acronym_without_its_expansion_in_the_source_stays_apart() -> None:
    found = cluster([att("c1", "Defense Intelligence Agency", "a"), att("c2", "DIA", "b")])
    assert len(found.by_id) == 2


def test_unattributed_claims_have_no_identity() -> None:
    found = cluster([att("c1", None, "a", role="lawmaker"), att("c2", "  ", "a")])
    assert found.by_id == {}
    assert found.of("c1") is None


def test_link_merges_and_the_earliest_id_survives() -> None:
    atts = [att("c1", "Jane Roe", "a"), att("c2", "J. Roe-Smith", "b"), att("c3", "Jane Roe", "c")]
    found = cluster(atts, [Override(verdict="link", a="c2", b="c3")])
    assert found.partition() == {frozenset({"c1", "c2", "c3"})}
    assert set(found.by_id) == {"c1"}
    assert found.of("c2") == found.by_id["c1"]  # the id "c2" had before still resolves


def test_unlink_forces_apart_what_the_rules_joined() -> None:
    atts = [att("c1", "Jane Roe", "a"), att("c2", "Jane Roe", "b"), att("c3", "Jane Roe", "c")]
    found = cluster(atts, [Override(verdict="unlink", a="c1", b="c3")])
    assert found.of_ref["c1"] != found.of_ref["c3"]
    assert found.of_ref["c2"] == "c1"  # the first union in log order stands
    assert found.of_ref["c3"] == "c3"


def test_the_last_verdict_on_a_pair_wins() -> None:
    atts = [att("c1", "Jane Roe", "a"), att("c2", "John Doe", "b")]
    link = Override(verdict="link", a="c1", b="c2")
    unlink = Override(verdict="unlink", a="c2", b="c1")
    assert len(cluster(atts, [link, unlink]).by_id) == 2
    assert len(cluster(atts, [unlink, link]).by_id) == 1


def test_overrides_naming_unknown_refs_are_ignored() -> None:
    atts = [att("c1", "Jane Roe", "a")]
    found = cluster(atts, [Override(verdict="link", a="c1", b="nope")])
    assert found.partition() == {frozenset({"c1"})}


@pytest.mark.parametrize(
    ("role", "affiliation", "shown"),
    [
        ("lawmaker", "Green Party", "lawmaker (Green Party)"),
        ("harbour master", None, "harbour master"),
        ("Peruvian interior minister", "Peru", "Peruvian interior minister"),
        ("  fire   chief ", "Lyon", "fire chief (Lyon)"),
        (None, "Lyon", None),
        ("", None, None),
    ],
)
def test_a_claimant_with_only_a_role_is_labelled_by_it(
    role: str | None, affiliation: str | None, shown: str | None
) -> None:
    assert role_only_label(role, affiliation) == shown
