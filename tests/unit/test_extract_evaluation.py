"""Evaluation metrics (MAP, P@k) on hand-made TSV files, the evaluation script, and the
determinism of training (the packaged weights are what the training script writes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from ledger.errors import FormatError
from ledger.extract.evaluation import (
    LabelledLine,
    average_precision,
    evaluate,
    precision_at,
    ranked_labels,
    read_dir,
    read_tsv,
)
from ledger.extract.linear import packaged_weights_bytes
from ledger.extract.training import TrainConfig, make_examples, train

ROOT = Path(__file__).resolve().parents[2]
CHECKTHAT = ROOT.parent / "shared" / "eval" / "checkthat2019" / "training"

# Ranked by score: line 1 (relevant), 2, 3 (relevant), 4 -> AP = (1/1 + 2/3) / 2 = 5/6.
TINY = "1\tA\tFirst.\t1\n2\tB\tSecond.\t0\n3\tA\tThird.\t1\n4\tB\tFourth.\t0\n"
TINY_SCORES = [900, 800, 100, 50]


def load_script(name: str) -> ModuleType:
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_average_precision_of_a_tiny_tsv(tmp_path: Path) -> None:
    path = tmp_path / "tiny.tsv"
    path.write_text(TINY, encoding="utf-8")
    lines = read_tsv(path)
    assert [line.label for line in lines] == [True, False, True, False]
    report = evaluate({"tiny.tsv": lines}, {"tiny.tsv": TINY_SCORES})
    assert report.mean_average_precision == pytest.approx(5 / 6)
    assert report.precision_at_5 == pytest.approx(2 / 5)
    assert report.precision_at_10 == pytest.approx(2 / 10)


def test_metric_edge_cases() -> None:
    assert average_precision([False, False]) == 0.0
    assert average_precision([True, True, False]) == 1.0
    assert average_precision([False, True]) == 0.5
    assert precision_at([True, False, True], 2) == 0.5


def test_ties_keep_line_order() -> None:
    lines = [LabelledLine(line=n, text="x", label=n == 2) for n in (1, 2, 3)]
    assert ranked_labels(lines, [5, 5, 5]) == [False, True, False]


def test_map_is_the_mean_over_files() -> None:
    first = [
        LabelledLine(line=1, text="a", label=True),
        LabelledLine(line=2, text="b", label=False),
    ]
    second = [
        LabelledLine(line=1, text="a", label=False),
        LabelledLine(line=2, text="b", label=True),
    ]
    report = evaluate({"a": first, "b": second}, {"a": [2, 1], "b": [2, 1]})
    assert report.mean_average_precision == pytest.approx((1.0 + 0.5) / 2)


def test_malformed_tsv_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("1\tA\tno label\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.tsv:1"):
        read_tsv(path)
    with pytest.raises(FormatError):
        read_dir(tmp_path / "missing")


def test_eval_script_prints_metrics_and_writes_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.tsv").write_text(
        "1\tX\tThe minister said 7,000 containers were sent on Monday.\t1\n"
        "2\tX\tThank you.\t0\n3\tX\tWhat a night.\t0\n",
        encoding="utf-8",
    )
    (data / "b.tsv").write_text(
        "1\tY\tGood evening.\t0\n2\tY\tExports rose 12.5% to $52.4 billion in 2023.\t1\n",
        encoding="utf-8",
    )
    out = tmp_path / "scores.tsv"
    script = load_script("eval_checkworthiness")
    assert script.main(["--data", str(data), "--scores-out", str(out), "--loo"]) == 0
    printed = capsys.readouterr().out
    assert "MAP=" in printed and "P@5=" in printed and "P@10=" in printed
    rows = [row.split("\t") for row in out.read_text(encoding="utf-8").splitlines()]
    assert [(name, line) for name, line, _ in rows] == [
        ("a.tsv", "1"),
        ("a.tsv", "2"),
        ("a.tsv", "3"),
        ("b.tsv", "1"),
        ("b.tsv", "2"),
    ]
    assert all(0 <= int(score) <= 1000 for _, _, score in rows)


def test_training_is_deterministic() -> None:
    labelled = [
        ("The minister said 7,000 containers were sent.", True),
        ("Thank you very much.", False),
        ("Exports rose 12.5% in 2023.", True),
        ("Good evening, everyone.", False),
    ] * 5
    config = TrainConfig(min_count=1, epochs=3)
    first = train(make_examples(labelled), config).to_json()
    assert first == train(make_examples(labelled), config).to_json()


@pytest.mark.skipif(not CHECKTHAT.is_dir(), reason="CheckThat! 2019 training data not present")
def test_packaged_weights_are_what_the_training_script_writes(tmp_path: Path) -> None:
    out = tmp_path / "weights.json"
    script = load_script("train_checkworthiness")
    assert script.main(["--data", str(CHECKTHAT), "--out", str(out)]) == 0
    assert out.read_bytes() == packaged_weights_bytes()
