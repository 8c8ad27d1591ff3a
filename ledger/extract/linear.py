"""The learned part of the score: a hashed linear model, the news stage stacked on it, and
their packaged JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from ledger.errors import FormatError

MODEL_FORMAT = "claims-ledger/hashed-logistic/2"
WEIGHTS_FILE = "weights.json"
# Four decimals keep the file small and its bytes stable across runs.
_DECIMALS = 4
_MAX_LOGIT = 30.0


@dataclass(frozen=True, kw_only=True)
class TrainingData:
    """Where a model's training data came from, shipped inside the weights file."""

    name: str
    origin: str
    sentences: int
    sha256: str

    def to_json(self) -> dict[str, str | int]:
        """The JSON object written into the weights file."""
        return {
            "name": self.name,
            "origin": self.origin,
            "sentences": self.sentences,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, kw_only=True)
class NewsStage:
    """A second, small logistic model fitted on news: the first model's logit times
    ``debate`` plus named sentence features (``features.news_features``) plus ``bias``."""

    bias: float
    debate: float
    weights: Mapping[str, float]

    def logit(self, debate_logit: float, features: Mapping[str, float]) -> float:
        """The news log-odds of a sentence; unknown feature names weigh zero."""
        named = sum(self.weights.get(name, 0.0) * value for name, value in features.items())
        return self.bias + self.debate * debate_logit + named

    def to_json(self) -> dict[str, object]:
        """The JSON object written into the weights file (rounded, names sorted)."""
        return {
            "bias": round(self.bias, _DECIMALS),
            "debate": round(self.debate, _DECIMALS),
            "weights": {
                name: round(self.weights[name], _DECIMALS) for name in sorted(self.weights)
            },
        }


@dataclass(frozen=True, kw_only=True)
class LinearModel:
    """Bias plus one weight per hashed feature bucket; absent buckets weigh zero."""

    hash_bits: int
    bias: float
    weights: Mapping[int, float]
    trained_on: tuple[TrainingData, ...] = ()
    news: NewsStage | None = None

    def logit(self, indices: Iterable[int]) -> float:
        """The model's log-odds for a sentence with these feature indices."""
        return self.bias + sum(self.weights.get(index, 0.0) for index in indices)

    def to_json(self) -> bytes:
        """Serialize deterministically: sorted buckets, rounded weights, one trailing newline."""
        document: dict[str, object] = {
            "format": MODEL_FORMAT,
            "trained_on": [data.to_json() for data in self.trained_on],
            "hash_bits": self.hash_bits,
            "bias": round(self.bias, _DECIMALS),
            "weights": [
                [index, round(self.weights[index], _DECIMALS)] for index in sorted(self.weights)
            ],
        }
        if self.news is not None:
            document["news"] = self.news.to_json()
        return (json.dumps(document, separators=(",", ":")) + "\n").encode("utf-8")


def sigmoid(value: float) -> float:
    """The logistic function, clamped so that huge logits cannot overflow ``math.exp``."""
    value = max(-_MAX_LOGIT, min(_MAX_LOGIT, value))
    return 1.0 / (1.0 + math.exp(-value))


def model_from_json(data: bytes) -> LinearModel:
    """Parse model bytes written by ``LinearModel.to_json``."""
    try:
        document = json.loads(data)
        if document["format"] != MODEL_FORMAT:
            raise FormatError(f"{WEIGHTS_FILE}: format is not {MODEL_FORMAT}")
        weights = {int(index): float(weight) for index, weight in document["weights"]}
        trained_on = tuple(
            TrainingData(
                name=str(data["name"]),
                origin=str(data["origin"]),
                sentences=int(data["sentences"]),
                sha256=str(data["sha256"]),
            )
            for data in document.get("trained_on", [])
        )
        news = document.get("news")
        return LinearModel(
            hash_bits=int(document["hash_bits"]),
            bias=float(document["bias"]),
            weights=weights,
            trained_on=trained_on,
            news=None if news is None else _news_stage(news),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise FormatError(f"{WEIGHTS_FILE}: not a {MODEL_FORMAT} document ({error})") from error


def _news_stage(document: Mapping[str, object]) -> NewsStage:
    """Parse the ``news`` object of a weights file (errors surface as ValueError/TypeError)."""
    weights = document["weights"]
    if not isinstance(weights, dict):
        raise TypeError("news.weights is not an object")
    return NewsStage(
        bias=float(str(document["bias"])),
        debate=float(str(document["debate"])),
        weights={str(name): float(value) for name, value in weights.items()},
    )


def packaged_weights_bytes() -> bytes:
    """The bytes of the weights file shipped in this package."""
    return resources.files("ledger.extract").joinpath(WEIGHTS_FILE).read_bytes()
