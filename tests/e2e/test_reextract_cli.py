"""``claims-ledger reextract``: a registered source's stored bytes through another extractor
(the LLM extractor against a fake OpenAI-compatible server), as a user runs it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from ledger.extract.deterministic import DeterministicExtractor
from tests.conftest import SEED
from tests.e2e.test_llm_extractor import CONTAINERS, MODEL, FakeLLM, answer, fake  # noqa: F401
from tests.helpers import run_cli


def _statuses(home: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(home / "ledger.sqlite3")
    try:
        rows = db.execute(
            "SELECT extractor_name, extractor_version, status FROM claims ORDER BY seq"
        )
        return [tuple(row) for row in rows]
    finally:
        db.close()


def test_reextract_appends_new_claims_and_retracts_the_old_on_request(
    tmp_path: Path,
    fake: FakeLLM,  # noqa: F811
) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "run", "--no-serve").returncode == 0
    sha = hashlib.sha256(SEED.read_bytes()).hexdigest()
    rules = _statuses(home)
    assert len(rules) >= 3 and {r[0] for r in rules} == {"claims-ledger/rules"}
    seed_claims, version = len(rules), DeterministicExtractor().version

    same = run_cli(home, "reextract", sha)
    assert same.returncode == 1
    expected = f"already has {seed_claims} claims from extractor claims-ledger/rules {version}"
    assert expected in same.stderr, (
        same.stderr
    )
    assert _statuses(home) == rules  # nothing written

    fake.reply = answer(CONTAINERS)
    llm = {
        "LEDGER_EXTRACTOR": "llm",
        "LEDGER_LLM_BASE_URL": fake.url,
        "LEDGER_LLM_MODEL": MODEL,
        "NO_PROXY": "127.0.0.1",
    }
    done = run_cli(home, "reextract", sha, "--retract-old", "superseded by the model", **llm)
    assert done.returncode == 0, done.stderr
    assert f"1 claims added, {seed_claims} retracted" in done.stdout, done.stdout
    after = _statuses(home)
    assert [status for _, _, status in after] == ["retracted"] * seed_claims + ["active"]
    assert "llm" in after[-1][0], after
    assert len(fake.requests) == 1  # the stored text was sent once

    again = run_cli(home, "reextract", sha, **llm)
    assert again.returncode == 1 and "already has 1 claims from extractor" in again.stderr
    unknown = run_cli(home, "reextract", "0" * 64)
    assert unknown.returncode == 3 and "is not registered" in unknown.stderr  # not found
    verified = run_cli(home, "verify")
    entries = 2 + 1 + 2 * seed_claims + 1  # keys, the source, claims and retractions, the new claim
    assert verified.returncode == 0, verified.stderr
    assert f"ok {entries} entries verified" in verified.stdout, verified.stdout
