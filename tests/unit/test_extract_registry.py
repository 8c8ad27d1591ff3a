"""The extractor registry: installed names, the default, and building extractors by name."""

from __future__ import annotations

import pytest

from ledger.errors import ConfigError
from ledger.extract import DeterministicExtractor
from ledger.extract.llm import LLMExtractor
from ledger.extract.registry import available, default_name, load_extractor


def test_both_extractors_are_installed() -> None:
    points = available()
    assert {"rules", "llm"} <= set(points)
    assert points["rules"].value == "ledger.extract.deterministic:DeterministicExtractor"


def test_default_is_rules_unless_configured() -> None:
    assert default_name({}) == "rules"
    assert default_name({"LEDGER_EXTRACTOR": "  "}) == "rules"
    assert default_name({"LEDGER_EXTRACTOR": "llm"}) == "llm"


def test_rules_loads_the_deterministic_extractor() -> None:
    extractor = load_extractor("rules", env={})
    assert isinstance(extractor, DeterministicExtractor)
    assert extractor.name == "claims-ledger/rules"


def test_llm_is_off_without_settings() -> None:
    with pytest.raises(ConfigError, match="LEDGER_LLM_BASE_URL"):
        load_extractor("llm", env={})


def test_llm_loads_through_from_env() -> None:
    env = {"LEDGER_LLM_BASE_URL": "http://127.0.0.1:9/v1", "LEDGER_LLM_MODEL": "m"}
    extractor = load_extractor("llm", env=env)
    assert isinstance(extractor, LLMExtractor)
    assert extractor.url == "http://127.0.0.1:9/v1/chat/completions"


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_extractor("oracle", env={})
    message = str(caught.value)
    assert "'oracle'" in message and "llm" in message and "rules" in message
