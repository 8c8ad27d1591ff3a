"""LLMExtractor against a fake OpenAI-compatible server on 127.0.0.1 that records each request."""

from __future__ import annotations

import datetime
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from ledger.errors import ConfigError, LedgerError
from ledger.extract.deterministic import make_selector
from ledger.extract.llm import ExtractorError, LLMExtractor, normalize_value
from ledger.extract.model import Cited
from tests.unit.extract_seed import load_seed

MODEL = "fake-model"
TEXT, PUBLISHED = load_seed()
SHIN = {"name": "Shin Won-shik", "role": "defense minister", "affiliation": "South Korea"}
QUANTITY: dict[str, object] = {
    "value": "7,000",
    "unit": "containers",
    "approximate": True,
    "text": "approximately 7,000 containers",
}
CONTAINERS: dict[str, object] = {
    "quote": "North Korea has dispatched approximately 7,000 containers of weapons to Russia",
    "statement": "North Korea has dispatched approximately 7,000 containers of weapons to Russia.",
    "claimant": SHIN,
    "reporting": "reported_speech",
    "made_on": "2024-03-18",
    "quantities": [QUANTITY],
    "score": 1200,
}
MAGNITUDE: dict[str, object] = {
    "quote": "Shin Won-shik, during a press conference, underscored the growing magnitude",
    "statement": "The DPRK-Russia arms trade is growing in magnitude.",
    "claimant": SHIN,
    "reporting": "reported_speech",
    "made_on": None,
    "quantities": [],
    "score": 500.5,
}


@dataclass(frozen=True)
class Recorded:
    path: str
    authorization: str | None
    body: dict[str, Any]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    delay: float = 0.0


@dataclass
class FakeLLM:
    url: str = ""
    reply: Reply = field(default_factory=Reply)
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLM

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.fake.requests.append(
            Recorded(self.path, self.headers.get("Authorization"), json.loads(body))
        )
        reply = self.fake.reply
        if reply.delay:
            self.fake.release.wait(reply.delay)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            pass  # the client gave up waiting (the timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def make() -> Iterator[Callable[..., LLMExtractor]]:
    """Extractors whose client ignores proxy settings, so requests stay on 127.0.0.1."""
    clients: list[httpx.Client] = []

    def build(url: str, **settings: str) -> LLMExtractor:
        clients.append(httpx.Client(trust_env=False))
        env = {"LEDGER_LLM_BASE_URL": url, "LEDGER_LLM_MODEL": MODEL, **settings}
        return LLMExtractor.from_env(env, client=clients[-1])

    yield build
    for client in clients:
        client.close()


def completion(content: str, finish_reason: str = "stop") -> bytes:
    message = {"role": "assistant", "content": content}
    choice = {"index": 0, "message": message, "finish_reason": finish_reason}
    return json.dumps({"id": "c1", "object": "chat.completion", "choices": [choice]}).encode()


def answer(*claims: object) -> Reply:
    return Reply(body=completion(json.dumps({"claims": list(claims)})))


def test_happy_path_on_the_seed(fake: FakeLLM, make: Callable[..., LLMExtractor]) -> None:
    fake.reply = answer(MAGNITUDE, CONTAINERS)  # deliberately not in text order
    extractor = make(fake.url, LEDGER_LLM_API_KEY="sk-test")
    claims = extractor.extract(TEXT, published=PUBLISHED)

    assert extractor.last_dropped == 0
    assert [c.selector.start for c in claims] == sorted(c.selector.start for c in claims)
    first, second = claims
    assert first.statement == CONTAINERS["statement"]
    assert first.claimant.name == "Shin Won-shik"
    assert first.claimant.role == "defense minister"
    assert first.reporting == "reported_speech"
    assert first.made_on == datetime.date(2024, 3, 18)
    assert first.score == 1000
    (quantity,) = first.quantities
    assert (quantity.value, quantity.unit, quantity.approximate) == ("7000", "containers", True)
    selector = first.selector
    assert TEXT[selector.start : selector.end] == selector.exact == CONTAINERS["quote"]
    assert selector == make_selector(TEXT, selector.start, selector.end)
    assert second.score == 500  # 500.5 rounds half to even, never a float


def test_request_carries_model_temperature_text_and_key(
    fake: FakeLLM, make: Callable[..., LLMExtractor]
) -> None:
    fake.reply = answer()
    make(fake.url + "/", LEDGER_LLM_API_KEY="sk-test").extract(TEXT, published=PUBLISHED)
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.authorization == "Bearer sk-test"
    assert request.body["model"] == MODEL
    assert request.body["temperature"] == 0
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert system["role"] == "system" and '"claims"' in system["content"]
    assert user["role"] == "user"
    assert TEXT in user["content"] and "2024-03-20" in user["content"]


def test_no_authorization_without_a_key(fake: FakeLLM, make: Callable[..., LLMExtractor]) -> None:
    fake.reply = answer()
    assert make(fake.url).extract(TEXT, published=None) == []
    assert fake.requests[0].authorization is None
    assert "unknown" in fake.requests[0].body["messages"][1]["content"]


def test_hallucinated_and_invalid_claims_are_dropped(
    fake: FakeLLM, make: Callable[..., LLMExtractor]
) -> None:
    hallucinated = {**CONTAINERS, "quote": "North Korea has dispatched 9,000 tanks to Russia"}
    bad_reporting = {**CONTAINERS, "reporting": "rumour"}
    future = {**CONTAINERS, "made_on": "2024-03-21"}
    bad_value = {**CONTAINERS, "quantities": [{**QUANTITY, "value": "7k"}]}
    fake.reply = answer(hallucinated, CONTAINERS, bad_reporting, future, bad_value, "x")
    extractor = make(fake.url)
    claims = extractor.extract(TEXT, published=PUBLISHED)

    assert [c.selector.exact for c in claims] == [CONTAINERS["quote"]]
    assert extractor.last_dropped == 5
    reasons = " | ".join(extractor.last_drop_reasons)
    assert "claims[0]: quote" in reasons and "verbatim" in reasons
    assert "reporting" in reasons and "made_on" in reasons and "quantities[0].value" in reasons


def test_bounds_ranges_precision_and_attribution_kinds_are_read(
    fake: FakeLLM, make: Callable[..., LLMExtractor]
) -> None:
    """The version 2 fields, from the model's JSON; the old ``approximate`` still reads."""
    rich = {
        **CONTAINERS,
        "claimant": {
            **SHIN,
            "kind": "person",
            "cites": [{"role": "military intelligence report", "kind": "document"}],
        },
        "made_on": "2024-03-18",
        "made_on_precision": "month",
        "quantities": [
            {"value": "6,700", "unit": "containers", "bound": "at_least", "text": "at least 6,700"},
            {"value": "12", "high": "17", "unit": "percent", "text": "12 to 17 percent"},
            QUANTITY,
        ],
    }
    fake.reply = answer(rich, MAGNITUDE)
    extractor = make(fake.url)
    first, second = extractor.extract(TEXT, published=PUBLISHED)
    assert extractor.last_dropped == 0
    assert first.claimant.kind == "person"
    assert first.claimant.cites == (
        Cited(name=None, role="military intelligence report", affiliation=None, kind="document"),
    )
    assert (first.made_on, first.made_on_precision) == (datetime.date(2024, 3, 1), "month")
    assert [(q.value, q.bound, q.high) for q in first.quantities] == [
        ("6700", "at_least", None),
        ("12", "exact", "17"),
        ("7000", "approximate", None),
    ]
    assert (second.made_on, second.made_on_precision) == (None, None)
    assert second.claimant.kind is None and second.claimant.cites == ()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"made_on_precision": "week"}, "made_on_precision: 'week' is not one of"),
        ({"made_on": None, "made_on_precision": "day"}, "made_on_precision: given without"),
        ({"quantities": [{**QUANTITY, "bound": "roughly"}]}, "quantities[0].bound"),
        ({"quantities": [{**QUANTITY, "high": "6,999"}]}, "quantities[0].high: 6999 is not above"),
        ({"quantities": [{**QUANTITY, "high": "lots"}]}, "quantities[0].high"),
        ({"claimant": {**SHIN, "kind": "robot"}}, "claimant.kind: 'robot'"),
        (
            {"claimant": {**SHIN, "cites": [{"kind": "document"}]}},
            "claimant.cites[0]: names no one",
        ),
        ({"claimant": {**SHIN, "cites": "a report"}}, "claimant.cites: must be a list"),
    ],
)
def test_version_2_fields_outside_the_rules_drop_the_claim(
    fake: FakeLLM, make: Callable[..., LLMExtractor], change: dict[str, object], reason: str
) -> None:
    fake.reply = answer({**CONTAINERS, **change})
    extractor = make(fake.url)
    assert extractor.extract(TEXT, published=PUBLISHED) == []
    assert reason in extractor.last_drop_reasons[0], extractor.last_drop_reasons


def test_a_repeated_quote_is_anchored_after_the_previous_claim(
    fake: FakeLLM, make: Callable[..., LLMExtractor]
) -> None:
    later = "Defense Minister Shin Won-shik's affirmation"
    ukraine = {**MAGNITUDE, "quote": "Ukraine", "statement": "Seoul will not arm Ukraine."}
    fake.reply = answer({**MAGNITUDE, "quote": later}, ukraine)
    claims = make(fake.url).extract(TEXT, published=PUBLISHED)
    anchor = TEXT.index(later)
    assert [c.selector.start for c in claims] == [anchor, TEXT.index("Ukraine", anchor)]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=completion("not json {")), "answer is not valid JSON"),
        (Reply(body=completion('{"items": []}')), '"claims" list'),
        (Reply(body=completion("```json\n[]\n```")), '"claims" list'),
        (Reply(body=completion('{"claims": [', "length")), "length limit"),
        (Reply(body=b'{"id": "c1"}'), "no choices"),
        (Reply(body=b"<html>"), "response is not valid JSON"),
        (Reply(status=500, body=b'{"error": "boom"}'), "HTTP 500"),
    ],
)
def test_unusable_answers_raise(
    fake: FakeLLM, make: Callable[..., LLMExtractor], reply: Reply, message: str
) -> None:
    fake.reply = reply
    with pytest.raises(ExtractorError, match=re.escape(message)):
        make(fake.url).extract(TEXT, published=PUBLISHED)


def test_a_slow_server_times_out(fake: FakeLLM, make: Callable[..., LLMExtractor]) -> None:
    fake.reply = Reply(body=completion('{"claims": []}'), delay=5)
    with pytest.raises(ExtractorError, match=r"no answer within 0\.3 s"):
        make(fake.url, LEDGER_LLM_TIMEOUT="0.3").extract(TEXT, published=PUBLISHED)


def test_a_closed_port_is_an_extractor_error(make: Callable[..., LLMExtractor]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ExtractorError, match="request failed"):
        make(f"http://127.0.0.1:{port}/v1").extract(TEXT, published=PUBLISHED)
    assert issubclass(ExtractorError, LedgerError)


def test_identity_fingerprints_prompt_and_model() -> None:
    one = LLMExtractor(base_url="http://127.0.0.1:9", model="a")
    other = LLMExtractor(base_url="http://127.0.0.1:9", model="b")
    assert one.name == "claims-ledger/llm"
    assert one.version == "1.1.0+a"
    assert re.fullmatch(r"[0-9a-f]{64}", one.rules_sha256)
    assert one.rules_sha256 != other.rules_sha256
    assert one.rules_sha256 == LLMExtractor(base_url="http://x.test", model="a").rules_sha256


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"LEDGER_LLM_MODEL": "m"}, "LEDGER_LLM_BASE_URL"),
        ({"LEDGER_LLM_BASE_URL": "http://127.0.0.1:9"}, "LEDGER_LLM_MODEL"),
        (
            {"LEDGER_LLM_BASE_URL": "ftp://127.0.0.1", "LEDGER_LLM_MODEL": "m"},
            "LEDGER_LLM_BASE_URL",
        ),
        ({"LEDGER_LLM_BASE_URL": "http://h", "LEDGER_LLM_MODEL": "a b"}, "LEDGER_LLM_MODEL"),
        (
            {"LEDGER_LLM_BASE_URL": "http://h", "LEDGER_LLM_MODEL": "m", "LEDGER_LLM_TIMEOUT": "0"},
            "LEDGER_LLM_TIMEOUT",
        ),
        (
            {"LEDGER_LLM_BASE_URL": "http://h", "LEDGER_LLM_MODEL": "m", "LEDGER_LLM_TIMEOUT": "x"},
            "LEDGER_LLM_TIMEOUT",
        ),
    ],
)
def test_settings_are_checked(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError, match=setting):
        LLMExtractor.from_env(env)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("7,000", "7000"),
        (" 1,234,567 ", "1234567"),
        ("7000.50", "7000.5"),
        ("-0.0", "0"),
        ("007", "7"),
        (42, "42"),
        (Decimal("3.10"), "3.1"),
        (Decimal("1E+3"), "1000"),
    ],
)
def test_values_are_normalized(raw: object, value: str) -> None:
    assert normalize_value(raw) == value


@pytest.mark.parametrize("raw", ["7,00", "1e3", "seven", "", "NaN", 7.5, True, None, "1" * 101])
def test_values_that_are_not_plain_decimals_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        normalize_value(raw)


def test_fenced_answers_and_exact_json_numbers_are_accepted(
    fake: FakeLLM, make: Callable[..., LLMExtractor]
) -> None:
    exact = {**CONTAINERS, "quantities": [{**QUANTITY, "value": 7000.50}], "score": 999}
    fake.reply = Reply(body=completion("```json\n" + json.dumps({"claims": [exact]}) + "\n```"))
    (claim,) = make(fake.url).extract(TEXT, published=PUBLISHED)
    assert claim.quantities[0].value == "7000.5"
    assert claim.score == 999
