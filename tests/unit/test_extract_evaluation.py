"""Evaluation metrics (MAP, P@k) on hand-made data and against a plain reference, the data
readers (CheckThat! TSV, ClaimBuster JSON, their overlap), the evaluation script, and the
determinism of training (the packaged weights are what the training script writes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import FormatError
from ledger.extract.evaluation import (
    LabelledLine,
    average_precision,
    evaluate,
    overlap_key,
    precision_at,
    ranked_labels,
    read_claimbuster,
    read_dir,
    read_tsv,
    without_overlap,
)
from ledger.extract.linear import (
    LinearModel,
    NewsStage,
    TrainingData,
    model_from_json,
    packaged_weights_bytes,
)
from ledger.extract.training import (
    NewsExample,
    TrainConfig,
    fit_news_stage,
    make_examples,
    train,
    training_pairs,
)

ROOT = Path(__file__).resolve().parents[2]

# Ranked by score: line 1 (relevant), 2, 3 (relevant), 4 -> AP = (1/1 + 2/3) / 2 = 5/6.
TINY = "1\tA\tFirst.\t1\n2\tB\tSecond.\t0\n3\tA\tThird.\t1\n4\tB\tFourth.\t0\n"
TINY_SCORES = [900, 800, 100, 50]


def load_script(name: str) -> ModuleType:
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


TRAIN_SCRIPT = load_script("train_checkworthiness")
CHECKTHAT: Path = TRAIN_SCRIPT.DEFAULT_CHECKTHAT
CLAIMBUSTER: Path = TRAIN_SCRIPT.DEFAULT_CLAIMBUSTER
NEWS: Path = TRAIN_SCRIPT.DEFAULT_NEWS
SHARED_DATA_MISSING = (
    "CheckThat! 2019 / ClaimBuster data not found next to the checkout "
    f"(looked for {CHECKTHAT} and {CLAIMBUSTER}); see their SOURCE.md"
)


def reference_average_precision(ranked: list[bool]) -> float:
    """AP from its definition: the mean over relevant ranks of precision at that rank."""
    relevant = [rank for rank, label in enumerate(ranked, start=1) if label]
    if not relevant:
        return 0.0
    return sum(sum(ranked[:rank]) / rank for rank in relevant) / len(relevant)


@given(st.lists(st.booleans(), max_size=60))
def test_average_precision_matches_the_reference(ranked: list[bool]) -> None:
    assert average_precision(ranked) == pytest.approx(reference_average_precision(ranked))


@given(st.lists(st.booleans(), max_size=30), st.integers(min_value=1, max_value=40))
def test_precision_at_k_matches_the_reference(ranked: list[bool], k: int) -> None:
    padded = ranked + [False] * max(0, k - len(ranked))
    assert precision_at(ranked, k) == pytest.approx(sum(padded[:k]) / k)


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=40))
def test_ranked_labels_sort_by_score_then_line(rows: list[tuple[int, bool]]) -> None:
    lines = [LabelledLine(line=n, text="x", label=label) for n, (_, label) in enumerate(rows)]
    scores = [score for score, _ in rows]
    expected = [label for _, _, label in sorted((-s, n, lab) for n, (s, lab) in enumerate(rows))]
    assert ranked_labels(lines, scores) == expected


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


def test_claimbuster_json_is_read_with_ids_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "cb.json"
    items = [
        {"sentence_id": 7, "label": 1, "text": "We lost 700,000 jobs."},
        {"sentence_id": 9, "label": 0, "text": "Thank you."},
    ]
    path.write_text(json.dumps(items), encoding="utf-8")
    assert read_claimbuster(path) == [
        LabelledLine(line=7, text="We lost 700,000 jobs.", label=True),
        LabelledLine(line=9, text="Thank you.", label=False),
    ]


@pytest.mark.parametrize(
    "document",
    ['{"a": 1}', '[{"sentence_id": 1, "label": 2, "text": "x"}]', '[{"label": 1}]', "nope"],
)
def test_malformed_claimbuster_is_a_format_error(tmp_path: Path, document: str) -> None:
    path = tmp_path / "cb.json"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(FormatError, match=r"cb\.json"):
        read_claimbuster(path)


def test_overlap_ignores_case_quotes_and_spacing() -> None:
    assert overlap_key("We’re 9 million jobs short -- of that.") == overlap_key(
        "we're 9 million jobs short of that"
    )
    ours = [LabelledLine(line=1, text="Thank you.", label=False)]
    theirs = [
        LabelledLine(line=1, text="THANK YOU!", label=False),
        LabelledLine(line=2, text="Taxes rose 3%.", label=True),
    ]
    assert without_overlap(theirs, ours) == [theirs[1]]


def test_training_pairs_leave_out_the_file_and_its_copies() -> None:
    files = {
        "a.tsv": [LabelledLine(line=1, text="Taxes rose 3%.", label=True)],
        "b.tsv": [LabelledLine(line=1, text="Good night.", label=False)],
    }
    extra = [
        LabelledLine(line=5, text="taxes rose 3 %", label=True),
        LabelledLine(line=6, text="Good night.", label=False),
    ]
    assert training_pairs(files, extra, held_out="a.tsv") == [
        ("Good night.", False),
        ("Good night.", False),
    ]
    assert len(training_pairs(files, extra)) == 4


@given(
    st.dictionaries(st.integers(0, (1 << 18) - 1), st.floats(-50, 50), max_size=20),
    st.floats(-10, 10),
    st.text(max_size=20),
)
def test_model_json_round_trips(weights: dict[int, float], bias: float, origin: str) -> None:
    source = TrainingData(name="n", origin=origin, sentences=3, sha256="0" * 64)
    model = LinearModel(hash_bits=18, bias=bias, weights=weights, trained_on=(source,))
    data = model.to_json()
    parsed = model_from_json(data)
    assert parsed.trained_on == (source,)
    assert parsed.to_json() == data


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


def test_eval_script_adds_claimbuster_and_crosses_datasets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.tsv").write_text(
        "1\tX\tExports rose 12.5% to $52.4 billion in 2023.\t1\n2\tX\tThank you.\t0\n",
        encoding="utf-8",
    )
    (data / "b.tsv").write_text(
        "1\tY\tGood evening.\t0\n2\tY\tWe lost 700,000 jobs last year.\t1\n",
        encoding="utf-8",
    )
    claimbuster = tmp_path / "cb.json"
    items = [
        {"sentence_id": n, "label": n % 2, "text": text}
        for n, text in enumerate(["Thank you.", "Taxes rose 3% in 2019.", "Good evening."] * 4)
    ]
    claimbuster.write_text(json.dumps(items), encoding="utf-8")
    script = load_script("eval_checkworthiness")
    assert script.main(["--data", str(data), "--loo", "--claimbuster", str(claimbuster)]) == 0
    assert "+ ClaimBuster minus the file" in capsys.readouterr().out
    assert script.main(["--data", str(data), "--cross", "--claimbuster", str(claimbuster)]) == 0
    printed = capsys.readouterr().out
    assert "ClaimBuster: 12 sentences, 4 not in CheckThat!" in printed
    assert "trained on ClaimBuster, tested on CheckThat!" in printed and "P@1000=" in printed


def test_eval_script_scores_a_news_dev_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    news = tmp_path / "news"
    news.mkdir()
    claim = "Exports rose 12.5% to $52.4 billion in 2023, the ministry said."
    text = f"Exports Climb\n\n{claim} What a year it was."
    (news / "a.txt").write_text(f"date 2024-01-02\n{text}\n", encoding="utf-8")
    gold = {
        "id": "a",
        "published": "2024-01-02",
        "topic": "economy",
        "claims": [{"sentence": claim, "reporting": "reported_speech", "made_on": None}],
    }
    (news / "a.json").write_text(json.dumps(gold), encoding="utf-8")
    script = load_script("eval_checkworthiness")
    assert script.main(["--news", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "1 articles, 3 units, 1 gold" in printed
    assert "MAP=1.0000" in printed
    assert "threshold 500: P=1.000 R=1.000 F1=1.000 (THRESHOLD)" in printed


@pytest.mark.skipif(not (CHECKTHAT.is_dir() and CLAIMBUSTER.is_file()), reason=SHARED_DATA_MISSING)
@pytest.mark.skipif(not (NEWS / "news").is_dir(), reason=f"no news dev set at {NEWS}/news")
def test_packaged_weights_are_what_the_training_script_writes(tmp_path: Path) -> None:
    out = tmp_path / "weights.json"
    arguments = ["--checkthat", str(CHECKTHAT), "--claimbuster", str(CLAIMBUSTER)]
    arguments += ["--news", str(NEWS)]
    assert TRAIN_SCRIPT.main([*arguments, "--out", str(out)]) == 0
    assert out.read_bytes() == packaged_weights_bytes()


def test_news_stage_fit_separates_and_is_deterministic() -> None:
    examples = [
        NewsExample(debate_logit=0.5 * (n % 3), features={"anchor": float(n % 2)}, label=n % 2 == 1)
        for n in range(40)
    ]
    examples.append(NewsExample(debate_logit=0.0, features={"anchor": 1.0}, label=False))
    stage = fit_news_stage(examples)
    assert stage.weights["anchor"] > 1.0
    assert fit_news_stage(examples) == stage
    assert stage.logit(0.0, {"anchor": 1.0}) > 0.0 > stage.logit(0.0, {"anchor": 0.0})
    with pytest.raises(ValueError):
        fit_news_stage([])


@given(
    st.floats(-10, 10),
    st.floats(-10, 10),
    st.dictionaries(st.sampled_from(["anchor", "past", "bare"]), st.floats(-5, 5)),
)
def test_model_with_a_news_stage_round_trips(
    bias: float, debate: float, weights: dict[str, float]
) -> None:
    stage = NewsStage(bias=bias, debate=debate, weights=weights)
    model = LinearModel(hash_bits=18, bias=0.0, weights={1: 0.5}, news=stage)
    data = model.to_json()
    parsed = model_from_json(data)
    assert parsed.news is not None
    assert parsed.to_json() == data


def test_eval_script_cross_validates_the_news_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    news = tmp_path / "news"
    news.mkdir()
    claim = "Exports rose 12.5% to $52.4 billion in 2023, the ministry said."
    for name in ("a", "b", "c"):
        text = f"Exports Climb\n\n{claim} What a delicate year it is."
        (news / f"{name}.txt").write_text(f"date 2024-01-02\n{text}\n", encoding="utf-8")
        gold = {
            "id": name,
            "published": "2024-01-02",
            "topic": "economy",
            "story": "s" if name != "c" else None,
            "claims": [{"sentence": claim, "reporting": "reported_speech", "made_on": None}],
        }
        (news / f"{name}.json").write_text(json.dumps(gold), encoding="utf-8")
    script = load_script("eval_checkworthiness")
    assert script.main(["--news-cv", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "3 articles in 2 folds" in printed
    assert "threshold 500: P=1.000 R=1.000 F1=1.000 (THRESHOLD)" in printed
