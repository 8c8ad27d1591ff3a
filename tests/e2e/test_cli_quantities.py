"""``claims-ledger claims --quantity-unit/--quantity-min/--quantity-max`` on the seed."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli


def test_claims_are_listed_by_quantity(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "run", "--no-serve").returncode == 0
    found = run_cli(home, "claims", "--quantity-unit", "Containers", "--quantity-min", "7000")
    assert found.returncode == 0 and "1 claims" in found.stdout, found.stdout + found.stderr
    none = run_cli(home, "claims", "--quantity-unit", "containers", "--quantity-max", "6999")
    assert none.returncode == 0 and "0 claims" in none.stdout
    bad = run_cli(home, "claims", "--quantity-min", "lots")
    assert bad.returncode == 1 and "quantity_min must be a decimal number" in bad.stderr
