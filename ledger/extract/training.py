"""Deterministic training of the hashed logistic model (AdaGrad SGD, class-balanced)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.extract.evaluation import LabelledLine, without_overlap
from ledger.extract.features import HASH_BITS, featurize, news_features
from ledger.extract.linear import LinearModel, NewsStage, sigmoid

_NEWTON_STEPS = 25


@dataclass(frozen=True, kw_only=True)
class Example:
    """One labelled sentence, already featurized."""

    indices: tuple[int, ...]
    label: bool


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Hyper-parameters; the defaults are the ones the shipped weights were trained with."""

    epochs: int = 8
    # A small step is the regularizer that works best here: larger ones overfit the debates.
    learning_rate: float = 0.001
    l2: float = 1e-4
    seed: int = 2019
    prune_below: float = 0.02
    # Features seen in fewer training sentences are dropped: they overfit and bloat the file.
    min_count: int = 10


def training_pairs(
    files: Mapping[str, Sequence[LabelledLine]],
    extra: Sequence[LabelledLine] = (),
    *,
    held_out: str | None = None,
) -> list[tuple[str, bool]]:
    """(sentence, label) pairs of every file but ``held_out``, then of ``extra``.

    Lines of ``extra`` whose text occurs in the held-out file are dropped, so that a model
    scored on that file never saw its sentences (ClaimBuster repeats 2016 debate lines).
    """
    pairs = [
        (line.text, line.label)
        for name, lines in files.items()
        if name != held_out
        for line in lines
    ]
    kept = without_overlap(extra, files[held_out]) if held_out is not None else extra
    pairs.extend((line.text, line.label) for line in kept)
    return pairs


def make_examples(labelled: Sequence[tuple[str, bool]]) -> list[Example]:
    """Featurize (sentence, label) pairs."""
    return [Example(indices=tuple(featurize(text)), label=label) for text, label in labelled]


def train(examples: Sequence[Example], config: TrainConfig | None = None) -> LinearModel:
    """Fit the model; the same examples and config always give the same weights."""
    config = config or TrainConfig()
    examples = _drop_rare(examples, config.min_count)
    positives = sum(1 for example in examples if example.label)
    # Balance the classes so that the decision boundary sits near a logit of zero.
    positive_weight = (len(examples) - positives) / positives if positives else 1.0
    state = _State(config)
    order = list(range(len(examples)))
    rng = random.Random(config.seed)
    for _ in range(config.epochs):
        rng.shuffle(order)
        for position in order:
            example = examples[position]
            state.step(example, positive_weight if example.label else 1.0)
    scale, shift = _calibrate(state, examples, positive_weight)
    return state.model(scale=scale, shift=shift, prune_below=config.prune_below)


def _drop_rare(examples: Sequence[Example], min_count: int) -> list[Example]:
    """Keep only the features that occur in at least ``min_count`` examples."""
    counts = Counter(index for example in examples for index in example.indices)
    return [
        Example(
            indices=tuple(i for i in example.indices if counts[i] >= min_count),
            label=example.label,
        )
        for example in examples
    ]


def _calibrate(
    state: _State, examples: Sequence[Example], positive_weight: float
) -> tuple[float, float]:
    """Platt scaling: fit ``a * logit + b`` by Newton steps so logits are log-odds again.

    The small learning rate leaves raw logits squeezed near zero; rescaling spreads the
    per-mille scores without changing the ranking.
    """
    pairs = [(state.logit(example), example.label) for example in examples]
    scale, shift = 1.0, 0.0
    for _ in range(_NEWTON_STEPS):
        step = _newton_step(pairs, scale, shift, positive_weight)
        if step is None:
            break
        scale, shift = scale - step[0], shift - step[1]
    return scale, shift


def _newton_step(
    pairs: list[tuple[float, bool]], scale: float, shift: float, positive_weight: float
) -> tuple[float, float] | None:
    """The Newton update of (scale, shift) for the weighted log loss; None if singular."""
    g_a = g_b = h_aa = h_ab = h_bb = 0.0
    for logit, label in pairs:
        importance = positive_weight if label else 1.0
        p = sigmoid(scale * logit + shift)
        error = (p - float(label)) * importance
        curvature = max(p * (1.0 - p), 1e-12) * importance
        g_a += error * logit
        g_b += error
        h_aa += curvature * logit * logit
        h_ab += curvature * logit
        h_bb += curvature
    determinant = h_aa * h_bb - h_ab * h_ab
    if determinant <= 0.0:
        return None
    return (h_bb * g_a - h_ab * g_b) / determinant, (h_aa * g_b - h_ab * g_a) / determinant


class _State:
    """Weights plus AdaGrad's running sums of squared gradients."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.weights: dict[int, float] = {}
        self.squares: dict[int, float] = {}
        self.bias = 0.0
        self.bias_square = 0.0

    def step(self, example: Example, importance: float) -> None:
        """One stochastic gradient step on one example."""
        weights = self.weights
        error = (sigmoid(self.logit(example)) - float(example.label)) * importance
        rate, l2 = self.config.learning_rate, self.config.l2
        for index in example.indices:
            weight = weights.get(index, 0.0)
            gradient = error + l2 * weight
            square = self.squares.get(index, 1e-8) + gradient * gradient
            self.squares[index] = square
            weights[index] = weight - rate * gradient / math.sqrt(square)
        self.bias_square += error * error
        self.bias -= rate * error / math.sqrt(self.bias_square + 1e-8)

    def logit(self, example: Example) -> float:
        """The current log-odds of one example."""
        return self.bias + sum(self.weights.get(index, 0.0) for index in example.indices)

    def model(self, *, scale: float, shift: float, prune_below: float) -> LinearModel:
        """Freeze the calibrated weights, dropping negligible ones to keep the file small."""
        scaled = {index: weight * scale for index, weight in self.weights.items()}
        kept = {index: weight for index, weight in scaled.items() if abs(weight) >= prune_below}
        return LinearModel(hash_bits=HASH_BITS, bias=self.bias * scale + shift, weights=kept)


@dataclass(frozen=True, kw_only=True)
class NewsExample:
    """One labelled news sentence: the first model's logit and the news-stage features."""

    debate_logit: float
    features: Mapping[str, float]
    label: bool


NEWS_L2 = 1.0
"""L2 penalty of the news stage (on every weight but the bias), chosen by dev-set CV."""


def news_examples(model: LinearModel, units: Sequence[tuple[str, bool]]) -> list[NewsExample]:
    """News-stage examples of (sentence, label) pairs, with ``model``'s first-stage logit."""
    return [
        NewsExample(
            debate_logit=model.logit(featurize(text)), features=news_features(text), label=label
        )
        for text, label in units
    ]


def fit_news_stage(examples: Sequence[NewsExample], l2: float = NEWS_L2) -> NewsStage:
    """Fit the news stage by Newton's method on the L2-penalized log loss (deterministic)."""
    if not examples:
        raise ValueError("fit_news_stage: no examples")
    names = sorted({name for example in examples for name in example.features})
    rows = [
        [1.0, example.debate_logit, *(example.features.get(name, 0.0) for name in names)]
        for example in examples
    ]
    labels = [float(example.label) for example in examples]
    size = len(names) + 2
    theta = [0.0] * size
    for _ in range(_NEWTON_STEPS):
        gradient = [0.0 if k == 0 else l2 * theta[k] for k in range(size)]
        hessian = [[l2 if j == k and k > 0 else 0.0 for k in range(size)] for j in range(size)]
        for row, label in zip(rows, labels, strict=True):
            p = sigmoid(sum(w * x for w, x in zip(theta, row, strict=True)))
            curvature = max(p * (1.0 - p), 1e-12)
            for j in range(size):
                gradient[j] += (p - label) * row[j]
                for k in range(size):
                    hessian[j][k] += curvature * row[j] * row[k]
        step = _solve(hessian, gradient)
        theta = [w - s for w, s in zip(theta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-9:
            break
    return NewsStage(
        bias=theta[0], debate=theta[1], weights=dict(zip(names, theta[2:], strict=True))
    )


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve ``matrix @ x = vector`` by Gaussian elimination with partial pivoting."""
    size = len(vector)
    rows = [[*matrix[i], vector[i]] for i in range(size)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        rows[column], rows[pivot] = rows[pivot], rows[column]
        if abs(rows[column][column]) < 1e-12:
            raise ValueError("fit_news_stage: singular system (a feature never varies)")
        for r in range(column + 1, size):
            factor = rows[r][column] / rows[column][column]
            for c in range(column, size + 1):
                rows[r][c] -= factor * rows[column][c]
    solution = [0.0] * size
    for r in reversed(range(size)):
        known = sum(rows[r][c] * solution[c] for c in range(r + 1, size))
        solution[r] = (rows[r][size] - known) / rows[r][r]
    return solution
