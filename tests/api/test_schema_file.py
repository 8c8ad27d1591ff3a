"""docs/schema.graphql is the schema the code serves; this fails when they drift apart."""

from __future__ import annotations

import os
from pathlib import Path

from api.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    sdl = build_schema().as_str() + "\n"
    if os.environ.get("UPDATE_SCHEMA") == "1":
        SCHEMA_FILE.write_text(sdl)
    assert SCHEMA_FILE.read_text() == sdl, (
        "docs/schema.graphql is stale: run UPDATE_SCHEMA=1 pytest tests/api/test_schema_file.py"
    )
