"""docs/operations.md holds together: the files, tests and settings it names exist, and
its links to its own sections land on a heading."""

from __future__ import annotations

import re

from tests.helpers import ROOT

OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_named_deploy_files_and_tests_exist() -> None:
    named = set(re.findall(r"`((?:deploy|tests/docs)/[\w./-]+)`", OPERATIONS))
    named |= {"Containerfile"} if "`Containerfile`" in OPERATIONS else set()
    assert {"deploy/claims-ledger.service", "deploy/postgres/grants.sql"} <= named
    missing = [path for path in sorted(named) if not (ROOT / path).exists()]
    assert missing == []


def test_every_file_in_deploy_is_documented() -> None:
    shipped = {
        str(path.relative_to(ROOT)) for path in (ROOT / "deploy").rglob("*") if path.is_file()
    }
    assert shipped and {p for p in shipped if f"`{p}`" not in OPERATIONS} == set()


def test_links_to_own_sections_resolve() -> None:
    anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", OPERATIONS, re.M)}
    links = set(re.findall(r"\]\(#([\w-]+)\)", OPERATIONS))
    assert links and links - anchors == set()


def test_settings_in_the_table_are_read_by_the_code() -> None:
    table = OPERATIONS.split("## First use", 1)[0]
    names = set(re.findall(r"`(LEDGER_[A-Z_]+)`", table))
    code = "\n".join(
        path.read_text() for folder in ("ledger", "api") for path in (ROOT / folder).rglob("*.py")
    )
    assert "LEDGER_WRITER_KEY" in names
    assert {name for name in names if f'"{name}"' not in code} == set()
