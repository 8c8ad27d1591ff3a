"""``LLMExtractor``: claims proposed by a model behind an OpenAI-compatible endpoint, then verified.

Off unless ``LEDGER_LLM_BASE_URL`` and ``LEDGER_LLM_MODEL`` are set; every answer is untrusted.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NoReturn

import httpx

from ledger.errors import ConfigError, LedgerError
from ledger.extract.deterministic import check_input, make_selector
from ledger.extract.model import (
    Bound,
    Cited,
    Claimant,
    ExtractedClaim,
    Precision,
    Quantity,
    Reporting,
    SourceKind,
)

TEMPERATURE = 0
DEFAULT_TIMEOUT = 60.0
VERSION = "1.1.0"
MAX_RESPONSE_BYTES = 8 << 20
MAX_CLAIMS = 500
MAX_QUANTITIES = 50
MAX_QUOTE = 5_000
MAX_STATEMENT = 2_000
MAX_SHORT = 300  # names, roles, affiliations, units and quantity texts
MAX_VALUE = 100  # digits of a normalized quantity value
MAX_CITES = 8
REPORTINGS: tuple[Reporting, ...] = ("direct_quote", "reported_speech", "assertion")
BOUNDS: tuple[Bound, ...] = (
    "exact",
    "approximate",
    "at_least",
    "more_than",
    "at_most",
    "less_than",
)
PRECISIONS: tuple[Precision, ...] = ("day", "month", "year")
KINDS: tuple[SourceKind, ...] = ("person", "organization", "document")

SYSTEM_PROMPT = """\
You extract check-worthy factual claims from a news article.
Answer with one JSON object and nothing else:
{"claims": [{
  "quote": the exact span of the article that states the claim, copied character for character,
  "statement": the claim as one self-contained sentence,
  "claimant": {"name": person or organisation making the claim, or null when the article itself
               asserts it, "role": their role or null, "affiliation": their organisation or null,
               "kind": "person" | "organization" | "document" | null,
               "cites": [what the claimant cites for it, nearest first, e.g. a report:
                         {"name", "role", "affiliation", "kind"} as above], or []},
  "reporting": "direct_quote" | "reported_speech" | "assertion",
  "made_on": the day the claim was made as "YYYY-MM-DD", or null when unknown,
  "made_on_precision": "day" | "month" | "year" (how precisely made_on is known; for a month
                       give its first day, for a year its January 1), or null with made_on,
  "quantities": [{"value": the number as digits, e.g. "7000", "unit": the unit or null,
                  "bound": "exact" | "approximate" | "at_least" | "more_than" | "at_most" |
                           "less_than" (about 7,000: approximate; over 7,000: more_than),
                  "high": the upper end of a range as digits ("12 to 17": value "12",
                          high "17"), or null,
                  "text": the number as written}],
  "score": how check-worthy the claim is, an integer from 0 to 1000
}]}
List claims in the order they appear. Use only what the article says; do not add facts.
Resolve relative days ("on Monday") against the publication date.
"""
USER_TEMPLATE = "Publication date: {published}\n\nArticle:\n{text}"

_MODEL_NAME = re.compile(r"^[\x21-\x7e]{1,200}$")
_DAY = re.compile(r"^\d{4}-\d\d-\d\d$")
_WRITTEN_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_CANONICAL_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")


class ExtractorError(LedgerError):
    """The model could not be asked, or its answer as a whole is unusable (names the endpoint)."""


class _Dropped(Exception):
    """One proposed claim is refused; the message says which field and why."""


@dataclass(frozen=True, kw_only=True)
class Extraction:
    """The verified claims in text order, and why each refused proposal was refused."""

    claims: tuple[ExtractedClaim, ...]
    dropped: tuple[str, ...]


def prompt_digest(model: str) -> str:
    """Hex SHA-256 over the prompt templates, the model name and the temperature."""
    digest = hashlib.sha256()
    parts = (
        ("system", SYSTEM_PROMPT),
        ("user", USER_TEMPLATE),
        ("model", model),
        ("temperature", str(TEMPERATURE)),
    )
    for name, value in parts:
        data = value.encode("utf-8")
        # Framing each part by name and length keeps distinct inputs from colliding.
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def normalize_value(raw: object) -> str:
    """A quantity as ``^-?(0|[1-9][0-9]*)(\\.[0-9]*[1-9])?$``: "7,000" -> "7000"; ValueError else."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise ValueError(f"must be a string of digits, got {type(raw).__name__}")
    if isinstance(raw, str):
        written = raw.strip().replace("\u2212", "-")
        if len(written) > MAX_VALUE or not _WRITTEN_NUMBER.match(written):
            raise ValueError(f"{raw[:40]!r} is not a decimal number")
        value = Decimal(written.replace(",", ""))
    else:
        value = Decimal(raw)
    # Bounding the exponent keeps "1e999999" from expanding to a million digits.
    if not value.is_finite() or abs(value.adjusted()) > MAX_VALUE:
        raise ValueError(f"{raw!s:.40} is out of range")
    plain = format(value, "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    plain = "0" if plain == "-0" else plain
    if not _CANONICAL_NUMBER.match(plain):
        raise ValueError(f"{raw!s:.40} does not normalize to a plain decimal")
    return plain


class LLMExtractor:
    """Claim extractor asking an OpenAI-compatible chat-completions endpoint (``Extractor``)."""

    name: str = "claims-ledger/llm"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        self.model = _check_model(model)
        self.url = _check_base_url(base_url) + "/chat/completions"
        self.timeout = _check_timeout(timeout, str(timeout))
        self.version: str = f"{VERSION}+{model}"
        self.rules_sha256: str = prompt_digest(model)
        self.last_dropped = 0
        self.last_drop_reasons: tuple[str, ...] = ()
        self._api_key = api_key
        self._client = client

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, client: httpx.Client | None = None
    ) -> LLMExtractor:
        """Configured by ``LEDGER_LLM_BASE_URL``, ``LEDGER_LLM_MODEL`` (both required),
        ``LEDGER_LLM_API_KEY`` and ``LEDGER_LLM_TIMEOUT`` (seconds, default 60)."""
        env = os.environ if env is None else env
        base_url = env.get("LEDGER_LLM_BASE_URL", "").strip()
        model = env.get("LEDGER_LLM_MODEL", "").strip()
        missing = [
            name
            for name, value in (("LEDGER_LLM_BASE_URL", base_url), ("LEDGER_LLM_MODEL", model))
            if not value
        ]
        if missing:
            raise ConfigError(f"the llm extractor is off: set {' and '.join(missing)}")
        return cls(
            base_url=base_url,
            model=model,
            api_key=env.get("LEDGER_LLM_API_KEY", "").strip() or None,
            timeout=_timeout(env.get("LEDGER_LLM_TIMEOUT", "")),
            client=client,
        )

    def extract(self, text: str, *, published: datetime.date | None) -> list[ExtractedClaim]:
        """Verified claims in text order; how many proposals were refused is in ``last_dropped``."""
        result = self.run(text, published=published)
        self.last_dropped = len(result.dropped)
        self.last_drop_reasons = result.dropped
        return list(result.claims)

    def run(self, text: str, *, published: datetime.date | None) -> Extraction:
        """Ask the model once and verify its answer; raises ``ExtractorError``, never half-done."""
        check_input(text, published)
        content = self._ask(request_body(self.model, text, published))
        proposals = parse_answer(content, self.url)
        return _Verifier(text, published).verify(proposals)

    def _ask(self, body: dict[str, object]) -> str:
        """The assistant message's content from one chat-completions call."""
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        deadline = time.monotonic() + self.timeout
        try:
            with (
                self._session() as client,
                client.stream(
                    "POST", self.url, json=body, headers=headers, timeout=self.timeout
                ) as response,
            ):
                raw = _read_bounded(response, deadline, self.url)
                if not response.is_success:
                    snippet = raw[:300].decode("utf-8", "replace")
                    raise ExtractorError(f"{self.url}: HTTP {response.status_code}: {snippet}")
        except httpx.TimeoutException as exc:
            raise ExtractorError(
                f"{self.url}: no answer within {self.timeout:g} s (LEDGER_LLM_TIMEOUT)"
            ) from exc
        except httpx.HTTPError as exc:
            raise ExtractorError(
                f"{self.url}: request failed: {type(exc).__name__}: {exc}"
            ) from exc
        return response_content(raw, self.url)

    @contextmanager
    def _session(self) -> Iterator[httpx.Client]:
        """The injected client, or a short-lived one (nothing to close afterwards)."""
        if self._client is not None:
            yield self._client
            return
        with httpx.Client() as client:
            yield client


def request_body(model: str, text: str, published: datetime.date | None) -> dict[str, object]:
    """The chat-completions request: fixed prompt, temperature 0, JSON-object answer."""
    user = USER_TEMPLATE.format(
        published=published.isoformat() if published else "unknown", text=text
    )
    return {
        "model": model,
        "temperature": TEMPERATURE,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user},
        ],
    }


def response_content(raw: bytes, where: str) -> str:
    """``choices[0].message.content`` of a chat-completions response, checked."""
    document = _decode_json(raw, f"{where}: response")
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ExtractorError(f"{where}: response has no choices")
    choice = choices[0]
    if choice.get("finish_reason") == "length":
        raise ExtractorError(f"{where}: answer was cut off at the model's length limit")
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ExtractorError(f"{where}: choices[0].message.content is missing or not text")
    return content


def parse_answer(content: str, where: str) -> list[object]:
    """The ``claims`` list of the model's JSON answer (a code fence around it is tolerated)."""
    document = _decode_json(_strip_fence(content).encode("utf-8"), f"{where}: answer")
    claims = document.get("claims") if isinstance(document, dict) else None
    if not isinstance(claims, list):
        raise ExtractorError(f'{where}: answer is not a JSON object with a "claims" list')
    return claims


def _decode_json(raw: bytes, what: str) -> object:
    """JSON with decimals kept exact (never floats) and NaN/Infinity refused."""
    try:
        document: object = json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ExtractorError(f"{what} is not valid JSON: {exc}") from exc
    return document


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def _strip_fence(content: str) -> str:
    """Some servers wrap JSON in ```json fences despite ``response_format``."""
    text = content.strip()
    if text.startswith("```") and text.endswith("```") and "\n" in text:
        return text[text.index("\n") + 1 : -3]
    return text


def _read_bounded(response: httpx.Response, deadline: float, where: str) -> bytes:
    """The body, refusing one over ``MAX_RESPONSE_BYTES`` or one trickling past the deadline."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ExtractorError(f"{where}: response exceeds {MAX_RESPONSE_BYTES} bytes")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("total time exceeded", request=response.request)
        chunks.append(chunk)
    return b"".join(chunks)


class _Verifier:
    """Turns the model's proposals into claims anchored in the text, refusing what fails."""

    def __init__(self, text: str, published: datetime.date | None) -> None:
        self.text = text
        self.published = published

    def verify(self, proposals: list[object]) -> Extraction:
        """Each proposal checked in the model's order; the result sorted by position."""
        claims: list[ExtractedClaim] = []
        dropped = [
            f"claims[{i}]: over the limit of {MAX_CLAIMS}"
            for i in range(MAX_CLAIMS, len(proposals))
        ]
        after = 0
        for index, proposal in enumerate(proposals[:MAX_CLAIMS]):
            try:
                claim = self._claim(proposal, after)
                if claim in claims:
                    raise _Dropped("repeats an earlier claim")
            except _Dropped as exc:
                dropped.append(f"claims[{index}]: {exc}")
                continue
            claims.append(claim)
            after = claim.selector.start
        # repr breaks ties between claims on one span so the order never depends on the model's.
        claims.sort(key=lambda c: (c.selector.start, c.selector.end, repr(c)))
        return Extraction(claims=tuple(claims), dropped=tuple(dropped))

    def _claim(self, proposal: object, after: int) -> ExtractedClaim:
        if not isinstance(proposal, dict):
            raise _Dropped("not a JSON object")
        quote = _text(proposal, "quote", MAX_QUOTE)
        start = self._locate(quote, after)
        made_on = _made_on(proposal.get("made_on"), self.published)
        precision = _precision(proposal.get("made_on_precision"), made_on)
        return ExtractedClaim(
            statement=_text(proposal, "statement", MAX_STATEMENT),
            selector=make_selector(self.text, start, start + len(quote)),
            claimant=_claimant(proposal.get("claimant")),
            reporting=_reporting(proposal.get("reporting")),
            made_on=_start_of(made_on, precision),
            made_on_precision=precision,
            quantities=_quantities(proposal.get("quantities")),
            score=_score(proposal.get("score")),
        )

    def _locate(self, quote: str, after: int) -> int:
        """First occurrence at or after the previous claim's start, else anywhere (out of order)."""
        start = self.text.find(quote, after)
        if start < 0:
            start = self.text.find(quote)
        if start < 0:
            raise _Dropped(f"quote {quote[:60]!r} does not occur verbatim in the text")
        return start


def _text(obj: dict[str, object], key: str, limit: int) -> str:
    """A required non-blank string field, stripped."""
    value = _optional_text(obj, key, limit)
    if value is None:
        raise _Dropped(f"{key}: missing or blank")
    return value


def _optional_text(obj: dict[str, object], key: str, limit: int) -> str | None:
    """A string field or null; blank counts as null."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Dropped(f"{key}: must be a string, got {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise _Dropped(f"{key}: longer than {limit} characters")
    return value or None


def _claimant(raw: object) -> Claimant:
    """Who made the claim; a missing or null claimant means the article asserts it."""
    if raw is None:
        return Claimant(name=None, role=None, affiliation=None)
    if not isinstance(raw, dict):
        raise _Dropped("claimant: must be an object or null")
    return Claimant(
        name=_optional_text(raw, "name", MAX_SHORT),
        role=_optional_text(raw, "role", MAX_SHORT),
        affiliation=_optional_text(raw, "affiliation", MAX_SHORT),
        kind=_kind(raw.get("kind"), "claimant.kind"),
        cites=_cites(raw.get("cites")),
    )


def _kind(raw: object, where: str) -> SourceKind | None:
    """``person``, ``organization`` or ``document``; null (or missing) when unknown."""
    if raw is None:
        return None
    for kind in KINDS:
        if raw == kind:
            return kind
    raise _Dropped(f"{where}: {str(raw)[:40]!r} is not one of {', '.join(KINDS)}")


def _cites(raw: object) -> tuple[Cited, ...]:
    """What the claimant cites, nearest first (missing or null: nothing)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _Dropped("claimant.cites: must be a list")
    if len(raw) > MAX_CITES:
        raise _Dropped(f"claimant.cites: more than {MAX_CITES}")
    cites = []
    for index, item in enumerate(raw):
        where = f"claimant.cites[{index}]"
        if not isinstance(item, dict):
            raise _Dropped(f"{where}: must be an object")
        try:
            cited = Cited(
                name=_optional_text(item, "name", MAX_SHORT),
                role=_optional_text(item, "role", MAX_SHORT),
                affiliation=_optional_text(item, "affiliation", MAX_SHORT),
                kind=_kind(item.get("kind"), f"{where}.kind"),
            )
        except _Dropped as exc:
            raise _Dropped(f"{where}.{exc}") from exc
        if cited.name is None and cited.role is None and cited.affiliation is None:
            raise _Dropped(f"{where}: names no one (name, role and affiliation all null)")
        cites.append(cited)
    return tuple(cites)


def _precision(raw: object, made_on: datetime.date | None) -> Precision | None:
    """How precisely ``made_on`` is known: null without a date; a date without one is a day."""
    if made_on is None:
        if raw is not None:
            raise _Dropped("made_on_precision: given without made_on")
        return None
    if raw is None:
        return "day"
    for precision in PRECISIONS:
        if raw == precision:
            return precision
    raise _Dropped(f"made_on_precision: {str(raw)[:40]!r} is not one of {', '.join(PRECISIONS)}")


def _start_of(day: datetime.date | None, precision: Precision | None) -> datetime.date | None:
    """A month as its first day, a year as its January 1 (the ledger's one spelling)."""
    if day is None or precision == "day":
        return day
    return day.replace(day=1) if precision == "month" else day.replace(month=1, day=1)


def _reporting(raw: object) -> Reporting:
    for reporting in REPORTINGS:
        if raw == reporting:
            return reporting
    raise _Dropped(f"reporting: {str(raw)[:40]!r} is not one of {', '.join(REPORTINGS)}")


def _made_on(raw: object, published: datetime.date | None) -> datetime.date | None:
    """A YYYY-MM-DD day no later than publication, or null."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not _DAY.match(raw):
        raise _Dropped(f"made_on: {str(raw)[:40]!r} is not YYYY-MM-DD")
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError as exc:
        raise _Dropped(f"made_on: {raw!r} is not a date") from exc
    if published is not None and day > published:
        raise _Dropped(f"made_on: {raw} is after the publication date {published}")
    return day


def _quantities(raw: object) -> tuple[Quantity, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _Dropped("quantities: must be a list")
    if len(raw) > MAX_QUANTITIES:
        raise _Dropped(f"quantities: more than {MAX_QUANTITIES}")
    return tuple(_quantity(item, index) for index, item in enumerate(raw))


def _quantity(raw: object, index: int) -> Quantity:
    where = f"quantities[{index}]"
    if not isinstance(raw, dict):
        raise _Dropped(f"{where}: must be an object")
    try:
        value = normalize_value(raw.get("value"))
    except ValueError as exc:
        raise _Dropped(f"{where}.value: {exc}") from exc
    high = None
    if raw.get("high") is not None:
        try:
            high = normalize_value(raw.get("high"))
        except ValueError as exc:
            raise _Dropped(f"{where}.high: {exc}") from exc
        if Decimal(high) <= Decimal(value):
            raise _Dropped(f"{where}.high: {high} is not above value {value}")
    try:
        return Quantity(
            value=value,
            unit=_optional_text(raw, "unit", MAX_SHORT),
            bound=_bound(raw, where),
            high=high,
            text=_text(raw, "text", MAX_SHORT),
        )
    except _Dropped as exc:
        raise _Dropped(f"{where}.{exc}") from exc


def _bound(raw: dict[str, object], where: str) -> Bound:
    """``bound`` if given; else the older ``approximate`` true or false (default exact)."""
    given = raw.get("bound")
    if given is None:
        approximate = raw.get("approximate", False)
        if not isinstance(approximate, bool):
            raise _Dropped(f"{where}.approximate: must be true or false")
        return "approximate" if approximate else "exact"
    for bound in BOUNDS:
        if given == bound:
            return bound
    raise _Dropped(f"{where}.bound: {str(given)[:40]!r} is not one of {', '.join(BOUNDS)}")


def _score(raw: object) -> int:
    """An integer score clamped to 0..1000 (decimals rounded half to even)."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise _Dropped("score: must be a number")
    if isinstance(raw, Decimal):
        raw = int(raw.to_integral_value(rounding=ROUND_HALF_EVEN))
    return min(1000, max(0, raw))


def _check_model(model: str) -> str:
    if not _MODEL_NAME.match(model):
        raise ConfigError(
            f"LEDGER_LLM_MODEL {model[:60]!r} must be 1-200 printable ASCII, no spaces"
        )
    return model


def _check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; only http(s) with a host."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"LEDGER_LLM_BASE_URL {base_url!r} is not a URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"LEDGER_LLM_BASE_URL {base_url!r} must be an http:// or https:// URL")
    return base_url.rstrip("/")


def _timeout(raw: str) -> float:
    """Seconds from ``LEDGER_LLM_TIMEOUT`` (blank means the default)."""
    if not raw.strip():
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise ConfigError(f"LEDGER_LLM_TIMEOUT {raw!r} is not a number of seconds") from exc
    return _check_timeout(seconds, raw)


def _check_timeout(seconds: float, raw: str) -> float:
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"LEDGER_LLM_TIMEOUT {raw!r} must be a positive number of seconds")
    return seconds
