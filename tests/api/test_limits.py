"""Abuse of a served ledger over real HTTP, on SQLite and PostgreSQL: documents that
expand exponentially are refused at once (api.limits), oversized search input is refused
before any work, refusals quote only a short prefix of the input, errors suggest no names
when introspection is off, and /healthz keeps answering while heavy queries run (they run
in worker threads, off the event loop)."""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.context import Context
from api.limits import MAX_FIELDS, MAX_FRAGMENTS, MAX_QUERY_BYTES, TOO_COMPLEX, parse_checked
from api.schema import build_schema
from ledger.config import Settings
from ledger.deadline import Deadline
from ledger.echo import ECHO_CHARS
from ledger.instance import open_instance
from ledger.search import MAX_PHRASE_TOKENS, MAX_SEARCH_CHARS
from tests.api.conftest import launch
from tests.helpers import add_source_with_claims


@pytest.fixture
def server(read_only_server: str) -> str:
    """The tests here taking ``server`` only read: one served ledger per module and database."""
    return read_only_server


def fragment_bomb(levels: int) -> str:
    """``levels`` fragments, each spreading the one before twice: 2^levels fields."""
    parts = ["fragment F0 on Checkpoint { size }"]
    parts += [
        f"fragment F{i} on Checkpoint {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return f"{{ checkpoint {{ ...F{levels} }} }} " + " ".join(parts)


def _post(url: str, query: str, **variables: Any) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


def test_fragment_bombs_are_refused_at_once(server: str) -> None:
    assert len(fragment_bomb(40)) < 2000
    for levels in (40, MAX_FRAGMENTS - 1):  # 2^40, 2^49 fields: too many once expanded
        body, took = _post(server, fragment_bomb(levels))
        error = _error(body)
        assert error["extensions"]["code"] == TOO_COMPLEX
        assert "fields once its fragments are expanded" in error["message"]
        assert f"at most {MAX_FIELDS}" in error["message"]
        # An exponential walk would not finish at all; 2 s leaves room for a loaded machine
        # (0.6 s seen with every core busy), the measured time is about 0.05 s.
        assert took < 2.0
    body, took = _post(server, fragment_bomb(100))
    assert _error(body)["message"] == (
        f"document has 101 fragments; at most {MAX_FRAGMENTS} are allowed"
    )
    assert took < 0.5
    # Aliases and depth are counted on the same walk: spread twice, each alias counts twice.
    aliased = (
        "fragment A on Checkpoint { " + " ".join(f"a{i}: size" for i in range(8)) + " } "
        "fragment B on Checkpoint { ...A ...A } fragment C on Checkpoint { ...B ...B } "
        "{ checkpoint { ...C } }"
    )
    assert _error(_post(server, aliased)[0])["message"] == "32 aliases found. Allowed: 30"
    # A cycle does not hang the walk: validation names it.
    cycle = "fragment A on Checkpoint { ...B } fragment B on Checkpoint { ...A } { checkpoint { ...A } }"
    assert "Cannot spread fragment" in _post(server, cycle)[0]["errors"][0]["message"]
    # A legitimate use of fragments still runs.
    fine = "fragment S on Checkpoint { size } { checkpoint { ...S ... on Checkpoint { ...S } } }"
    assert _post(server, fine)[0]["data"]["checkpoint"]["size"] >= 1


def test_one_exact_count_an_operation(server: str) -> None:
    """Each totalCount may read every match; thirty aliased ones held a worker for its whole
    time limit at a million claims. One an operation, counted on the expanded document."""
    twice = "{ a: claims(filter: {status: ACTIVE}) { totalCount } b: claims { totalCount } }"
    error = _error(_post(server, twice)[0])
    assert error["extensions"]["code"] == TOO_COMPLEX
    assert error["message"] == (
        "'anonymous' asks for 2 exact counts (totalCount) once its fragments are expanded; "
        "at most 1 is allowed (countAtMost is bounded and not limited)"
    )
    spread = (
        "fragment T on ClaimConnection { totalCount } "
        "query Counts { claims { ...T ... on ClaimConnection { ...T } } }"
    )
    assert "'Counts' asks for 2 exact counts" in _error(_post(server, spread)[0])["message"]
    # One is served, and bounded counts are not limited by this rule.
    one = _post(server, "{ claims { totalCount } }")[0]
    assert one["data"]["claims"]["totalCount"] >= 1
    bounded = " ".join(f"c{i}: claims {{ countAtMost(limit: 5) {{ exact }} }}" for i in range(5))
    assert "errors" not in _post(server, "{ " + bounded + " }")[0]
    # Operations of one document are counted apart (only one of them runs).
    parse_checked("query A { claims { totalCount } } query B { claims { totalCount } }")


def test_an_oversized_document_is_refused_before_parsing(server: str) -> None:
    big = "{ checkpoint { size } }" + " " * MAX_QUERY_BYTES
    error = _error(_post(server, big)[0])
    assert error["extensions"]["code"] == TOO_COMPLEX
    assert error["message"] == (f"query is {len(big)} bytes; at most {MAX_QUERY_BYTES} are allowed")
    comments = "{ checkpoint { size } }" + "\n#" * 300
    assert "comments" in _error(_post(server, comments)[0])["message"]


SEARCH = "query($s: String) { claims(filter: {search: $s}) { totalCount } }"


def test_search_bounds_and_short_refusals(server: str) -> None:
    for text in ("x " * 950_000, '"' + "word " * 150_000 + '"'):  # 1.9 MB; 150,000 words
        body, took = _post(server, SEARCH, s=text)
        error = _error(body)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert f"over the limit of {MAX_SEARCH_CHARS}" in error["message"]
        assert len(error["message"]) < 200
        assert took < 1
    phrase = '"' + " ".join(f"w{i}" for i in range(MAX_PHRASE_TOKENS + 1)) + '"'
    error = _error(_post(server, SEARCH, s=phrase)[0])
    assert f"at most {MAX_PHRASE_TOKENS} are allowed in one phrase" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    for query in (
        "query($s: String) { claims(filter: {claimant: $s}) { totalCount } }",
        "query($s: String) { claimants(search: $s) { edges { cursor } } }",
    ):
        error = _error(_post(server, query, s="n" * 1_900_000)[0])
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "1900000 characters long, over the limit of 1000" in error["message"]
    # Refusals that quote the input quote at most a short prefix of it.
    for query, variables in (
        (SEARCH, {"s": "-" * MAX_SEARCH_CHARS}),
        ("query($c: String) { claims(after: $c) { totalCount } }", {"c": "!" * 5000}),
        ("query($c: String) { sources(after: $c) { edges { cursor } } }", {"c": "!" * 5000}),
        ("query($i: ID!) { node(id: $i) { id } }", {"i": "Q" * 5000}),
        ("query($d: String) { claims(filter: {madeFrom: $d}) { totalCount } }", {"d": "9" * 5000}),
        ("query($h: String) { inclusionProof(hash: $h) { seq } }", {"h": "f" * 5000}),
    ):
        (error,) = _post(server, query, **variables)[0]["errors"]
        message = error["message"]
        assert error["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")
        assert len(message) < 2 * ECHO_CHARS + 100, message
        assert re.search(r"… \((5000|1000) characters\)", message), message


@pytest.fixture
def quiet(sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    home = tmp_path / "home"
    open_instance(Settings(home=home, database_url=sqlite_url, passphrase=b"pw")).close()
    proc, url = launch(home, sqlite_url, "--no-introspection")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


TYPOS = (
    ("{ checkpoint { sise } }", {}),
    ("{ claims(frist: 1) { totalCount } }", {}),
    ("{ claims(orderBy: {field: RECORDD}) { totalCount } }", {}),
    (
        "query($o: ClaimOrderInput) { claims(orderBy: $o) { totalCount } }",
        {"o": {"field": "RECORDD"}},
    ),
    ("query($f: ClaimFiltr) { claims(filter: $f) { totalCount } }", {}),
)


def test_no_suggestions_without_introspection(quiet: str, server: str) -> None:
    for query, variables in TYPOS:
        hidden = _post(quiet, query, **variables)[0]["errors"]
        assert hidden and not any("Did you mean" in e["message"] for e in hidden), hidden
        shown = _post(server, query, **variables)[0]["errors"]
        assert any("Did you mean" in e["message"] for e in shown), shown


HEAVY = (
    "{ "
    + " ".join(
        f"p{n}: claims(first: 100) {{ edges {{ node {{ statement provenance {{ links(first: 5) "
        "{ nodes { role signatureValid inclusionProof { hashes rootHash } } } } "
        "history(first: 5) { nodes { kind signerName changes { field after } } } } } }"
        for n in range(3)
    )
    + " }"
)


@pytest.fixture
def busy(db_url: str, tmp_path: Path) -> Iterator[str]:
    """200 claims: HEAVY reads all of them three times with provenance and history."""
    home = tmp_path / "home"
    instance = open_instance(Settings(home=home, database_url=db_url, passphrase=b"pw"))
    for n in range(40):
        add_source_with_claims(instance.ledger, instance.writer_key(), n, claims=5)
    instance.close()
    proc, url = launch(home, db_url)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_healthz_answers_while_heavy_queries_run(busy: str) -> None:
    done: list[float] = []

    def heavy() -> None:
        for _ in range(4):  # each is a fraction of a second on an idle machine
            body, took = _post(busy, HEAVY)
            assert "errors" not in body, body["errors"]
            done.append(took)

    workers = [threading.Thread(target=heavy) for _ in range(3)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    waits: list[float] = []
    with httpx.Client(timeout=30) as client:
        while any(w.is_alive() for w in workers):
            before = time.monotonic()
            assert client.get(f"{busy}/healthz").status_code == 200
            waits.append(time.monotonic() - before)
            time.sleep(0.02)
    for worker in workers:
        worker.join()
    assert len(done) == 12
    assert time.monotonic() - started > 1  # heavy enough to have stalled an event loop
    assert len(waits) >= 5
    # On a loaded machine a few answers wait for the interpreter lock; none waits for a
    # heavy query to finish (each takes over a second).
    waits.sort()
    print(f"healthz waits: median {statistics.median(waits):.3f} s, max {waits[-1]:.3f} s")
    assert statistics.median(waits) < 0.1, waits
    assert waits[int(len(waits) * 0.9)] < 0.5, waits


def test_the_deadline_covers_parsing_and_validation() -> None:
    """A request whose time is up when its document has been parsed (or validated) stops
    there with TIMEOUT: no resolver runs (this ledger would fail any that did)."""
    schema = build_schema()
    expired = Context(ledger=None, deadline=Deadline(0))  # type: ignore[arg-type]
    result = asyncio.run(schema.execute("{ checkpoint { size } }", context_value=expired))
    assert result.data is None
    assert [(e.message, e.extensions) for e in result.errors or []] == [
        ("the request ran past its time limit of 0 s", {"code": "TIMEOUT"})
    ]
    in_time = Context(ledger=None, deadline=Deadline(60))  # type: ignore[arg-type]
    result = asyncio.run(schema.execute("{ checkpoint { size } }", context_value=in_time))
    assert result.errors and result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR"}


def test_only_masked_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Expected failures are the client's and answered to it: logging each with its trace
    would let any client fill the server's log (and stall it on a full pipe). Unexpected
    ones, masked for the client, are logged for the operator."""
    schema = build_schema()
    context = Context(ledger=None, deadline=Deadline(60))  # type: ignore[arg-type]
    expected = [
        '{ claims(after: "nonsense") { totalCount } }',
        "{ nope }",
        "{ claims(first: 0) { totalCount } }",
    ]
    with caplog.at_level(logging.DEBUG, logger="strawberry"):
        for query in expected:
            result = asyncio.run(schema.execute(query, context_value=context))
            assert result.errors and result.errors[0].extensions != {
                "code": "INTERNAL_SERVER_ERROR"
            }
        assert [r for r in caplog.records if r.name.startswith("strawberry")] == []
        result = asyncio.run(schema.execute("{ checkpoint { size } }", context_value=context))
    assert result.errors and result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR"}
    logged = [r for r in caplog.records if r.name.startswith("strawberry")]
    assert len(logged) == 1 and logged[0].exc_info is not None
