"""``derived.Deriver`` (decision 0039) keeps identities and lines exactly as ``derive``
from nothing (``resume=False``) gives them, over random logs of appended claims,
retractions, revisions (a claimant renamed, a figure changed), reviews and reviewer
overrides: each step is either taken, with only what it names changed, or refused (None),
and then a deriver built from nothing takes over."""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.config import Settings
from ledger.derived import Derived, Deriver, derive
from ledger.extract.deterministic import DeterministicExtractor
from ledger.identity import Override
from ledger.ingest import ingest_document, read_text
from ledger.instance import open_instance
from ledger.state import ClaimState
from tests.unit.line_stories import CONTAINERS


@functools.cache
def story_claims() -> tuple[tuple[ClaimState, ...], ...]:
    """The claims the deterministic extractor finds in each story, one tuple per source."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = Settings(
            home=root / "home",
            database_url=f"sqlite:///{root / 'ledger.sqlite3'}",
            passphrase=b"test",
        )
        instance = open_instance(settings)
        writer = instance.writer_key()
        for source, published, text in CONTAINERS:
            doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
            ingest_document(
                instance.ledger, writer, doc, where=source, extractor=DeterministicExtractor()
            )
        claims = instance.ledger.store.all_claims()
        instance.close()
    by_source: dict[str, list[ClaimState]] = {}
    for claim in claims:
        by_source.setdefault(claim.source_entry, []).append(claim)
    return tuple(tuple(c) for c in by_source.values())


NAMES = ["Shin Won-sik", "Shin", "John Kirby", "Kirby", "Defense Ministry", None]


def same(found: Derived, expected: Derived) -> None:
    assert found.identities.by_id == expected.identities.by_id
    assert found.identities.of_ref == expected.identities.of_ref
    assert found.lines == expected.lines
    assert found.claims.keys() == expected.claims.keys()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_kept_deriver_equals_deriving_from_nothing(data: st.DataObject) -> None:
    stories = story_claims()
    log: dict[str, ClaimState] = {}  # current state of every claim, by id
    overrides: list[Override] = []
    seq = 0
    deriver: Deriver | None = None
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        size_before = seq
        changed: dict[str, ClaimState] = {}
        for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
            action = data.draw(
                st.sampled_from(
                    ["source", "source", "source", "revise", "retract", "review", "override"]
                )
            )
            if action == "source" or not log:
                story = data.draw(st.sampled_from(stories))
                source = f"src{seq:04d}"
                seq += 1
                for claim in story:
                    claim_id = f"{seq:064x}"
                    log[claim_id] = changed[claim_id] = dataclasses.replace(
                        claim, claim_id=claim_id, seq=seq, source_entry=source, head_seq=seq
                    )
                    seq += 1
                continue
            target = log[data.draw(st.sampled_from(sorted(log)))]
            seq += 1
            if action == "override":
                other = data.draw(st.sampled_from(sorted(log)))
                verdict = data.draw(st.sampled_from(["link", "unlink"]))
                overrides.append(Override(verdict=verdict, a=target.claim_id, b=other))
                continue
            if target.status == "retracted":
                continue
            if action == "retract":
                updated = dataclasses.replace(target, status="retracted", head_seq=seq)
            elif action == "review":
                updated = dataclasses.replace(
                    target, review_count=target.review_count + 1, head_seq=seq
                )
            else:
                name = data.draw(st.sampled_from(NAMES))
                claimant = target.claimant.model_copy(update={"name": name})
                updated = dataclasses.replace(
                    target, claimant=claimant, status="revised", head_seq=seq
                )
            log[target.claim_id] = changed[target.claim_id] = updated
        expected = derive(log.values(), overrides, resume=False)
        step = None
        if deriver is not None:
            assert deriver.size == size_before
            before = dict(deriver.clusterer.identities.by_id)
            lines_before = {line.id: line for line in deriver.derived.lines}
            ordered = sorted(changed.values(), key=lambda c: c.seq)
            earlier = [c for c in ordered if c.seq < size_before]
            later = [c for c in ordered if c.seq >= size_before]
            step = deriver.advance(earlier + later, overrides, seq)
        if deriver is None or step is None:
            deriver = Deriver.build([sorted(log.values(), key=lambda c: c.seq)], overrides, seq)
            same(deriver.derived, expected)
            continue
        same(deriver.derived, expected)
        # what the step does not name is as it was
        named = {i.id for i in step.identities}
        for identity_id, identity in expected.identities.by_id.items():
            if identity_id not in named:
                assert before[identity_id] == identity
        assert step.gone == before.keys() - expected.identities.by_id.keys()
        named_lines = {line.id for line in step.lines}
        for line in expected.lines:
            if line.id not in named_lines:
                assert lines_before[line.id] == line
