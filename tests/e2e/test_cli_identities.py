"""claims-ledger claimants, lines, link and unlink, run through the command line (in process)."""

from __future__ import annotations

from pathlib import Path

from ledger.config import Settings
from ledger.instance import open_instance
from tests.e2e.test_cli import cli
from tests.unit.line_stories import CONTAINERS


def test_claimants_lines_link_and_unlink(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "story"
    folder.mkdir()
    for source, published, text in CONTAINERS:
        (folder / f"{source}.txt").write_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
    cli(home, "ingest", str(folder))
    shin = cli(home, "claimants", "--search", "Shin Won-shik").stdout
    assert "Shin Won-sik" in shin and "defense minister (2024-02-26 to 2024-10-07)" in shin
    assert "1 claimants" in shin
    lines = cli(home, "lines", "--unit", "containers").stdout
    assert "1 lines" in lines
    figures = [word for word in lines.split() if word in {"1000", "6700", "7000", "10000", "13000"}]
    assert figures == ["1000", "6700", "7000", "10000", "13000"]
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'ledger.sqlite3'}")
    instance = open_instance(settings)
    try:
        kirby = instance.ledger.claimant_identities(search="Kirby")[0].id
        shin_id = instance.ledger.claimant_identities(search="Shin")[0].id
    finally:
        instance.close()
    linked = cli(home, "link", kirby, shin_id, "--reason", "test").stdout
    assert "linked at entry" in linked
    again = cli(home, "link", kirby, shin_id, "--reason", "again", ok=False)
    assert again.returncode == 1 and "no-op" in again.stderr
    assert "unlinked at entry" in cli(home, "unlink", shin_id, kirby, "--reason", "no").stdout
    assert "ok" in cli(home, "verify").stdout
