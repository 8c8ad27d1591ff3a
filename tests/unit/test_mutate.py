"""The mutation tester (tools/mutate.py): which mutants it makes, and that a run kills or keeps them."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from tools.mutate import apply, generate, main, parse_ranges, run, select

SOURCE = textwrap.dedent(
    '''
    """Module docstring: never mutated."""

    LIMIT: int = 3


    def clamp(n: int) -> int:
        """Docstring."""
        if n < 0 and not False:
            raise ValueError("negative")
        log(n)
        return n if n <= LIMIT else LIMIT  # pragma: no mutate


    def log(n: int | None) -> None:
        print(n + 1)
    '''
)


def _kinds(source: str) -> list[tuple[int, str, str, str]]:
    return [(m.line, m.operator, m.original, m.replacement) for m in generate(source, "m.py")]


def test_each_operator_makes_its_mutants_in_source_order() -> None:
    kinds = _kinds(SOURCE)
    assert (4, "int", "3", "(4)") in kinds
    assert (4, "int", "3", "(2)") in kinds
    assert (9, "compare", "n < 0", "(n <= 0)") in kinds
    assert (9, "boolop", "n < 0 and not False", "(n < 0 or not False)") in kinds
    assert (9, "not", "not False", "False") in kinds
    assert (9, "bool", "False", "True") in kinds
    assert (9, "if", "n < 0 and not False", "True") in kinds
    assert (9, "if", "n < 0 and not False", "False") in kinds
    assert (10, "raise", 'raise ValueError("negative")', "pass") in kinds
    assert (11, "call", "log(n)", "pass") in kinds
    assert (16, "call", "print(n + 1)", "pass") in kinds
    assert (16, "arith", "n + 1", "(n - 1)") in kinds
    lines = [k[0] for k in kinds]
    assert lines == sorted(lines)
    assert [m.number for m in generate(SOURCE, "m.py")] == list(range(1, len(kinds) + 1))


def test_docstrings_annotations_and_marked_lines_are_left_alone() -> None:
    kinds = _kinds(SOURCE)
    assert not [k for k in kinds if k[0] in (2, 8, 12)]  # docstrings, the pragma line
    assert not [k for k in kinds if k[2] in ("int", "int | None")]  # annotations


def test_a_mutant_changes_only_its_segment_and_still_parses() -> None:
    for mutant in generate(SOURCE, "m.py"):
        mutated = apply(SOURCE, mutant)
        ast.parse(mutated)
        assert mutated.splitlines()[: mutant.line - 1] == SOURCE.splitlines()[: mutant.line - 1]
        assert mutated[: mutant.start] == SOURCE[: mutant.start]
        assert mutated.endswith(SOURCE[mutant.end :])


def test_generation_is_deterministic() -> None:
    assert generate(SOURCE, "m.py") == generate(SOURCE, "m.py")


def test_selection_by_lines_numbers_and_seeded_sample() -> None:
    mutants = generate(SOURCE, "m.py")
    assert {m.line for m in select(mutants, lines=parse_ranges("9-10"))} == {9, 10}
    assert [m.number for m in select(mutants, only=[2, 5])] == [2, 5]
    sample = select(mutants, sample=4, seed=7)
    assert len(sample) == 4
    assert sample == select(mutants, sample=4, seed=7)
    assert [m.number for m in sample] == sorted(m.number for m in sample)


def test_line_ranges() -> None:
    assert parse_ranges("10-40, 55,70-") == [(10, 40), (55, 55), (70, 2**63 - 1)]
    with pytest.raises(ValueError):
        parse_ranges("9-3")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text(
        "def double(n: int) -> int:\n"
        "    return n * 2\n"
        "\n"
        "\n"
        "def is_big(n: int) -> bool:\n"
        "    return n >= 10\n"
    )
    (root / "tests" / "test_calc.py").write_text(
        "from calc import double, is_big\n"
        "\n"
        "\n"
        "def test_double() -> None:\n"
        "    assert double(3) == 6\n"
        "\n"
        "\n"
        "def test_big() -> None:\n"
        "    assert is_big(11) and not is_big(3)\n"
    )
    return root


@pytest.mark.slow
def test_a_run_kills_the_tested_mutants_and_reports_the_survivor(tmp_path: Path) -> None:
    root = _project(tmp_path)
    original = (root / "calc.py").read_text()
    mutants = generate(original, "calc.py")
    chosen = [m for m in mutants if m.operator in ("arith", "compare")]
    report = run(
        "calc.py",
        ["tests"],
        chosen,
        generated=len(mutants),
        operators=["arith", "compare"],
        timeout=60,
        budget=None,
        root=root,
        progress=lambda line: None,
    )
    status = {(r.mutant.line, r.mutant.replacement): r.status for r in report.results}
    assert status == {(2, "(n // 2)"): "killed", (6, "(n > 10)"): "survived"}
    assert report.counts() == {"killed": 1, "survived": 1, "timeout": 0, "error": 0}
    assert (root / "calc.py").read_text() == original  # the tree it ran on was a copy


def test_list_prints_the_mutants_without_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("tools.mutate.ROOT", _project(tmp_path))
    assert main(["calc.py", "--list", "--lines", "6", "--operators", "compare,int"]) == 0
    out = capsys.readouterr().out
    assert "calc.py:6:11 [compare] n >= 10 -> (n > 10)" in out
    assert "calc.py:6:16 [int] 10 -> (11)" in out
    assert out.strip().endswith("3 of 5 mutants")


def test_reports_are_written_as_json_and_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    monkeypatch.setattr("tools.mutate.ROOT", root)
    out = tmp_path / "report"
    [number] = [
        m.number
        for m in generate((root / "calc.py").read_text(), "calc.py")
        if m.operator == "compare"
    ]
    main(["calc.py", "--tests", "tests -k big", "--only", str(number), "--report", str(out)])
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["counts"]["survived"] == 1
    assert data["results"][0]["replacement"] == "(n > 10)"
    assert f"survived:\n  #{number}" in out.with_suffix(".txt").read_text()
