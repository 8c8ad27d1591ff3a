"""A small mutation tester: mutate one module, one mutant at a time, and run a test selection.

Mutants are generated from the module's ``ast`` by well-known operators and applied as a
source-segment replacement, so everything else in the file (comments, layout, line numbers)
stays as it was. Each mutant is written into a copy of the project tree in a temporary
directory — the working tree is never modified — and the given pytest selection runs there
with ``-x -q -p no:cacheprovider`` under a per-mutant timeout. A mutant is *killed* when
pytest fails, *survived* when it passes, *timeout* when it runs out of time.

    python tools/mutate.py ledger/merkle.py --budget 900 --report /tmp/merkle \\
        --tests "tests/unit/test_merkle.py tests/property/test_merkle.py --hypothesis-seed=0"

Mutants are numbered in source order (line, column, operator); ``--list`` prints them without
running anything; ``--lines``, ``--operators``, ``--only`` and ``--sample`` narrow the run.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST_FLAGS = ("-x", "-q", "-p", "no:cacheprovider")
SKIP_MARK = "pragma: no mutate"
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.pyc",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".ledger",
    "mutation-report*",
)

# --- Operators --------------------------------------------------------------------------

_COMPARE_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_ARITH_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitOr,
}

OPERATORS = (
    "compare",  # < <-> <=, > <-> >=, == <-> !=, in <-> not in, is <-> is not
    "boolop",  # and <-> or
    "not",  # `not x` -> `x`
    "arith",  # + <-> -, * <-> //, << <-> >>, & <-> |, ^ -> | (also in augmented assignments)
    "int",  # integer constant n -> n + 1 and n - 1
    "bool",  # True <-> False
    "raise",  # a raise statement -> pass
    "if",  # the test of an if statement -> True, and -> False
    "return",  # return <value> -> return None
    "call",  # a call statement (an expression statement) -> pass
)


@dataclass(frozen=True, slots=True)
class Mutant:
    """One mutation: the source segment [start, end) of ``path`` replaced by ``replacement``."""

    number: int
    path: str
    line: int
    col: int
    operator: str
    original: str
    replacement: str
    start: int
    end: int

    def describe(self) -> str:
        return f"{self.path}:{self.line}:{self.col} [{self.operator}] {_short(self.original)} -> {_short(self.replacement)}"


@dataclass(slots=True)
class Result:
    mutant: Mutant
    status: str  # killed | survived | timeout | error
    seconds: float
    detail: str = ""


@dataclass(slots=True)
class Report:
    module: str
    tests: list[str]
    operators: list[str]
    generated: int
    selected: int
    baseline_seconds: float
    timeout_seconds: float
    wall_seconds: float = 0.0
    not_run: int = 0
    results: list[Result] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"killed": 0, "survived": 0, "timeout": 0, "error": 0}
        for result in self.results:
            out[result.status] += 1
        return out


def _short(text: str, limit: int = 70) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _line_offsets(source: str) -> list[int]:
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


class _Generator:
    """Walks a module's tree in source order and yields (node, operator, replacement text)."""

    def __init__(self, source: str, path: str, operators: Sequence[str]) -> None:
        self.source = source
        self.path = path
        self.operators = set(operators)
        self.lines = source.splitlines()
        self.offsets = _line_offsets(source)
        # ast offsets are in UTF-8 bytes; map each line's byte columns to character columns.
        self._encoded = [line.encode("utf-8") for line in self.lines]

    def _char_col(self, line: int, byte_col: int) -> int:
        return len(self._encoded[line - 1][:byte_col].decode("utf-8"))

    def _span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offsets[node.lineno - 1] + self._char_col(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line: int = node.end_lineno  # type: ignore[attr-defined]
        end = self.offsets[end_line - 1] + self._char_col(end_line, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def _skipped(self, node: ast.AST) -> bool:
        line = self.lines[node.lineno - 1]  # type: ignore[attr-defined]
        return SKIP_MARK in line

    def candidates(self) -> Iterator[tuple[ast.AST, str, str]]:
        tree = ast.parse(self.source)
        for node in self._walk(tree):
            if self._skipped(node):
                continue
            yield from self._mutations(node)

    def _walk(self, node: ast.AST) -> Iterator[ast.AST]:
        """Depth-first, children in field order; skips annotations, docstrings and f-strings."""
        if isinstance(node, ast.JoinedStr):
            return
        if hasattr(node, "lineno"):
            yield node
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "type_comment", "decorator_list"):
                continue
            children = value if isinstance(value, list) else [value]
            for index, child in enumerate(children):
                if not isinstance(child, ast.AST):
                    continue
                if name == "body" and index == 0 and _is_docstring(child):
                    continue
                yield from self._walk(child)

    def _expr(self, node: ast.expr) -> str:
        text = ast.unparse(node)
        return text if isinstance(node, ast.Constant | ast.Name) else f"({text})"

    def _mutations(self, node: ast.AST) -> Iterator[tuple[ast.AST, str, str]]:
        ops = self.operators
        if isinstance(node, ast.Compare) and "compare" in ops:
            for i, op in enumerate(node.ops):
                flipped = _COMPARE_FLIP.get(type(op))
                if flipped is not None:
                    new_ops = list(node.ops)
                    new_ops[i] = flipped()
                    yield (
                        node,
                        "compare",
                        self._expr(
                            ast.Compare(left=node.left, ops=new_ops, comparators=node.comparators)
                        ),
                    )
        elif isinstance(node, ast.BoolOp) and "boolop" in ops:
            other: ast.boolop = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            yield node, "boolop", self._expr(ast.BoolOp(op=other, values=node.values))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and "not" in ops:
            yield node, "not", self._expr(node.operand)
        elif isinstance(node, ast.BinOp) and "arith" in ops:
            swapped = _ARITH_SWAP.get(type(node.op))
            if swapped is not None and not _is_string_format(node):
                yield (
                    node,
                    "arith",
                    self._expr(ast.BinOp(left=node.left, op=swapped(), right=node.right)),
                )
        elif isinstance(node, ast.AugAssign) and "arith" in ops:
            swapped = _ARITH_SWAP.get(type(node.op))
            if swapped is not None:
                yield (
                    node,
                    "arith",
                    ast.unparse(ast.AugAssign(target=node.target, op=swapped(), value=node.value)),
                )
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                if "bool" in ops:
                    yield node, "bool", repr(not node.value)
            elif isinstance(node.value, int) and "int" in ops:
                yield node, "int", f"({node.value + 1})"
                yield node, "int", f"({node.value - 1})"
        elif isinstance(node, ast.Raise) and "raise" in ops:
            yield node, "raise", "pass"
        elif isinstance(node, ast.If) and "if" in ops:
            yield node.test, "if", "True"
            yield node.test, "if", "False"
        elif isinstance(node, ast.Return) and "return" in ops:
            value = node.value
            if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
                yield node, "return", "return None"
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call | ast.Await)
            and "call" in ops
        ):
            yield node, "call", "pass"


def _is_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_string_format(node: ast.BinOp) -> bool:
    """`"..." % x` and `"a" + "b"`: string operations, not arithmetic."""
    return any(
        (isinstance(side, ast.Constant) and isinstance(side.value, str | bytes))
        or isinstance(side, ast.JoinedStr)
        for side in (node.left, node.right)
    )


def generate(source: str, path: str, operators: Sequence[str] = OPERATORS) -> list[Mutant]:
    """Every mutant of ``source``, in source order, each checked to still parse."""
    gen = _Generator(source, path, operators)
    found: list[Mutant] = []
    seen: set[tuple[int, int, str]] = set()
    for node, operator, replacement in gen.candidates():
        start, end = gen._span(node)
        original = source[start:end]
        key = (start, end, replacement)
        if key in seen or _same(original, replacement):
            continue
        mutated = source[:start] + replacement + source[end:]
        try:
            ast.parse(mutated)
        except SyntaxError:
            continue
        seen.add(key)
        found.append(
            Mutant(
                number=0,
                path=path,
                line=node.lineno,  # type: ignore[attr-defined]
                col=node.col_offset,  # type: ignore[attr-defined]
                operator=operator,
                original=original,
                replacement=replacement,
                start=start,
                end=end,
            )
        )
    found.sort(key=lambda m: (m.start, m.end, OPERATORS.index(m.operator), m.replacement))
    return [_renumber(m, i + 1) for i, m in enumerate(found)]


def _same(original: str, replacement: str) -> bool:
    try:
        return ast.dump(ast.parse(original.strip(), mode="eval")) == ast.dump(
            ast.parse(replacement.strip(), mode="eval")
        )
    except SyntaxError:
        return False


def _renumber(mutant: Mutant, number: int) -> Mutant:
    values = asdict(mutant)
    values["number"] = number
    return Mutant(**values)


def apply(source: str, mutant: Mutant) -> str:
    return source[: mutant.start] + mutant.replacement + source[mutant.end :]


# --- Selection --------------------------------------------------------------------------


def parse_ranges(spec: str) -> list[tuple[int, int]]:
    """``"10-40,55,70-"`` -> [(10, 40), (55, 55), (70, huge)]."""
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition("-")
        start = int(low) if low else 1
        end = (int(high) if high else sys.maxsize) if sep else start
        if end < start:
            raise ValueError(f"empty range {part!r}")
        ranges.append((start, end))
    return ranges


def select(
    mutants: Sequence[Mutant],
    *,
    lines: Sequence[tuple[int, int]] = (),
    only: Sequence[int] = (),
    sample: int | None = None,
    seed: int = 0,
) -> list[Mutant]:
    """Narrow by line ranges and mutant numbers, then a seeded sample; always in source order."""
    chosen = [
        m
        for m in mutants
        if (not lines or any(a <= m.line <= b for a, b in lines)) and (not only or m.number in only)
    ]
    if sample is not None and sample < len(chosen):
        picked = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [m for i, m in enumerate(chosen) if i in picked]
    return chosen


# --- Running ----------------------------------------------------------------------------


def _run_pytest(tree: Path, tests: Sequence[str], timeout: float) -> tuple[str, float, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *PYTEST_FLAGS, *tests],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return "timeout", time.monotonic() - started, ""
    except BaseException:
        _kill_group(proc)
        raise
    seconds = time.monotonic() - started
    last = out.strip().splitlines()[-1] if out.strip() else ""
    if proc.returncode == 0:
        return "survived", seconds, last
    if proc.returncode == 5:  # no tests collected: the selection is wrong, not the mutant
        return "error", seconds, last
    return "killed", seconds, last


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run(
    module: str,
    tests: Sequence[str],
    mutants: Sequence[Mutant],
    *,
    generated: int,
    operators: Sequence[str],
    timeout: float | None,
    budget: float | None,
    root: Path = ROOT,
    progress: Callable[[str], None] = lambda line: print(line, flush=True),
) -> Report:
    """Run each mutant against ``tests`` in a temporary copy of ``root``."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(root, tree, ignore=COPY_IGNORE)
        target = tree / module
        source = target.read_text()
        status, base, detail = _run_pytest(tree, tests, timeout=3600)
        if status != "survived":
            raise SystemExit(f"the unmutated tests do not pass ({status}): {detail}")
        limit = timeout if timeout is not None else max(30.0, 3 * base + 10)
        report = Report(
            module=module,
            tests=list(tests),
            operators=list(operators),
            generated=generated,
            selected=len(mutants),
            baseline_seconds=round(base, 2),
            timeout_seconds=round(limit, 1),
        )
        progress(f"{module}: baseline {base:.1f}s, timeout {limit:.0f}s, {len(mutants)} mutants")
        try:
            for i, mutant in enumerate(mutants):
                if budget is not None and time.monotonic() - started > budget:
                    report.not_run = len(mutants) - i
                    progress(f"budget spent: {report.not_run} mutants not run")
                    break
                target.write_text(apply(source, mutant))
                try:
                    status, seconds, detail = _run_pytest(tree, tests, limit)
                finally:
                    target.write_text(source)
                report.results.append(Result(mutant, status, round(seconds, 2), detail))
                progress(f"  #{mutant.number:<4} {status:<8} {mutant.describe()}")
        except KeyboardInterrupt:
            report.not_run = len(mutants) - len(report.results)
            progress("interrupted")
        report.wall_seconds = round(time.monotonic() - started, 1)
    return report


# --- Reports ----------------------------------------------------------------------------


def to_json(report: Report) -> dict[str, object]:
    return {
        "module": report.module,
        "tests": report.tests,
        "operators": report.operators,
        "generated": report.generated,
        "selected": report.selected,
        "not_run": report.not_run,
        "counts": report.counts(),
        "baseline_seconds": report.baseline_seconds,
        "timeout_seconds": report.timeout_seconds,
        "wall_seconds": report.wall_seconds,
        "results": [
            {
                "number": r.mutant.number,
                "line": r.mutant.line,
                "col": r.mutant.col,
                "operator": r.mutant.operator,
                "original": r.mutant.original,
                "replacement": r.mutant.replacement,
                "status": r.status,
                "seconds": r.seconds,
                "detail": r.detail,
            }
            for r in report.results
        ],
    }


def to_text(report: Report) -> str:
    counts = report.counts()
    lines = [
        f"module   {report.module}",
        f"tests    {' '.join(report.tests)}",
        f"mutants  {report.generated} generated, {report.selected} selected, "
        f"{len(report.results)} run, {report.not_run} not run",
        "results  " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        f"time     {report.wall_seconds}s wall (baseline {report.baseline_seconds}s, "
        f"timeout {report.timeout_seconds}s)",
        "",
    ]
    for status in ("survived", "timeout", "error"):
        chosen = [r for r in report.results if r.status == status]
        if chosen:
            lines.append(f"{status}:")
            lines.extend(f"  #{r.mutant.number:<4} {r.mutant.describe()}" for r in chosen)
    return "\n".join(lines) + "\n"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("module", help="the file to mutate, relative to the project root")
    parser.add_argument(
        "--tests", default="", help="pytest arguments in one string: \"tests/a.py -k 'not pg'\""
    )
    parser.add_argument("--operators", default=",".join(OPERATORS), help="comma-separated")
    parser.add_argument("--lines", default="", help="line ranges, e.g. 10-40,55,70-")
    parser.add_argument("--only", default="", help="mutant numbers, e.g. 3,17,40")
    parser.add_argument("--sample", type=int, default=None, help="run a seeded sample of N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per mutant")
    parser.add_argument("--budget", type=float, default=None, help="stop starting mutants after")
    parser.add_argument("--report", default=None, help="write REPORT.json and REPORT.txt")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)

    operators = [op.strip() for op in args.operators.split(",") if op.strip()]
    unknown = set(operators) - set(OPERATORS)
    if unknown:
        parser.error(f"unknown operators: {', '.join(sorted(unknown))}")
    module = Path(args.module).as_posix()
    source = (ROOT / module).read_text()
    mutants = generate(source, module, operators)
    only = [int(n) for n in args.only.split(",") if n.strip()]
    chosen = select(
        mutants, lines=parse_ranges(args.lines), only=only, sample=args.sample, seed=args.seed
    )
    if args.list:
        for mutant in chosen:
            print(f"#{mutant.number:<4} {mutant.describe()}")
        print(f"{len(chosen)} of {len(mutants)} mutants")
        return 0
    tests = shlex.split(args.tests)
    if not tests:
        parser.error("--tests is required unless --list")
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: kill pytest, drop the copy
    report = run(
        module,
        tests,
        chosen,
        generated=len(mutants),
        operators=operators,
        timeout=args.timeout,
        budget=args.budget,
        root=ROOT,
    )
    text = to_text(report)
    print(text)
    if args.report:
        out = Path(args.report)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(to_json(report), indent=2) + "\n")
        out.with_suffix(".txt").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
