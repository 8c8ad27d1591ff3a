"""Golden test: the full extractor output for the seed article, pinned field by field.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 .venv/bin/pytest
tests/unit/test_extract_seed_golden.py`` and review the diff of the JSON file.
``rules_sha256`` is left out on purpose: it changes with any edit of a rule file, even a
comment, while the output pinned here does not.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from ledger.extract import DeterministicExtractor, ExtractedClaim
from tests.unit.extract_seed import SEED, load_seed

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "seed_claims.json"


def as_json(claim: ExtractedClaim) -> dict[str, Any]:
    """A claim as plain JSON values (the date as ISO 8601)."""
    document = dataclasses.asdict(claim)
    document["made_on"] = claim.made_on.isoformat() if claim.made_on else None
    document["quantities"] = [dataclasses.asdict(q) for q in claim.quantities]
    return dict(json.loads(json.dumps(document)))  # tuples as JSON arrays


def current_output() -> dict[str, Any]:
    text, published = load_seed()
    extractor = DeterministicExtractor()
    return {
        "source": SEED.name,
        "published": published.isoformat(),
        "extractor": {"name": extractor.name, "version": extractor.version},
        "claims": [as_json(claim) for claim in extractor.extract(text, published=published)],
    }


def test_seed_output_matches_golden() -> None:
    output = current_output()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        rendered = json.dumps(output, indent=2, ensure_ascii=False, sort_keys=True)
        GOLDEN.write_text(rendered + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert output == expected
