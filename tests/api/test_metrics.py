"""/metrics over real HTTP, parsed with prometheus_client's own parser: requests by
operation and status, latency histograms, rate-limit refusals, append batches, the
checkpoint's size; shared across `serve --workers 2`; witness status from the cosigning
worker; label values bounded whatever clients send."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import MAX_OPERATION_NAMES, Metrics, OperationNames
from ledger.cosigning import CosigningWorker
from ledger.instance import Instance
from tests.api.server_process import running
from tests.helpers import QUOTE, append_sources
from tests.unit.test_cosigning import FakeWitness, _client, _down, _settings

SIZE = "query Size { checkpoint { size } }"
INGEST = "mutation Ingest($text: String!) { ingestSource(text: $text) { __typename } }"
RETRACT = 'mutation { retractClaim(claimId: "x", follows: "y", reason: "z") { __typename } }'

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_over_http(db_url: str, tmp_path: Path) -> None:
    env = {"LEDGER_API_CLIENT_MUTATION_RATE": "3/minute", "LEDGER_API_MUTATION_RATE": "off"}
    with running(tmp_path / "home", db_url, env=env) as server:
        graphql = f"{server.url}/graphql"
        for _ in range(2):
            assert httpx.post(graphql, json={"query": SIZE}).status_code == 200
        assert httpx.get(f"{server.url}/nowhere").status_code == 404
        ingest = httpx.post(
            graphql,
            json={"query": INGEST, "variables": {"text": f"He said that {QUOTE}"}},
            headers={"authorization": f"Bearer {server.token}"},
            timeout=30,
        )
        assert "errors" not in ingest.json(), ingest.text
        statuses = [httpx.post(graphql, json={"query": RETRACT}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        response = httpx.get(f"{server.url}/metrics")
        size = int(httpx.get(f"{server.url}/checkpoint").text.split("\n")[1])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = scrape(response.text)
    requests = "claims_ledger_http_requests_total"
    assert value(samples, requests, path="/graphql", operation="Size", status="200") == 2
    assert value(samples, requests, path="/graphql", operation="Ingest", status="200") == 1
    assert value(samples, requests, path="/graphql", operation="", status="429") == 1
    assert value(samples, requests, path="other", operation="", status="404") == 1
    latency = "claims_ledger_http_request_duration_seconds"
    assert value(samples, f"{latency}_count", path="/graphql", operation="Size") == 2
    assert value(samples, f"{latency}_bucket", path="/graphql", operation="Size", le="+Inf") == 2
    assert (value(samples, f"{latency}_sum", path="/graphql", operation="Size") or 0) > 0
    assert value(samples, "claims_ledger_rate_limited_requests_total", path="/graphql") == 1
    assert value(samples, "claims_ledger_append_batches_total") == 1
    assert value(samples, "claims_ledger_checkpoint_size") == size
    assert value(samples, "claims_ledger_checkpoint_cosignatures") == 0
    signed = value(samples, "claims_ledger_checkpoint_timestamp_seconds")
    assert signed is not None and abs(signed - time.time()) < 600
    assert value(samples, "claims_ledger_event_streams") == 0


def test_metrics_can_be_turned_off(db_url: str, tmp_path: Path) -> None:
    with running(tmp_path / "home", db_url, env={"LEDGER_API_METRICS": "false"}) as server:
        assert httpx.get(f"{server.url}/metrics").status_code == 404


def test_workers_share_their_counters(db_url: str, tmp_path: Path) -> None:
    """Each scrape lands on one of the workers; every one reports the sum of all."""
    with running(tmp_path / "home", db_url, "--workers", "2") as server:
        for _ in range(24):  # a new connection each: the kernel spreads them
            response = httpx.post(f"{server.url}/graphql", json={"query": SIZE})
            assert response.status_code == 200
        counts = []
        for _ in range(6):
            with httpx.Client() as client:
                text = client.get(f"{server.url}/metrics").text
            counts.append(
                value(
                    scrape(text),
                    "claims_ledger_http_requests_total",
                    path="/graphql",
                    operation="Size",
                    status="200",
                )
            )
    assert counts == [24] * 6


def test_witness_status(instance: Instance, tmp_path: Path) -> None:
    good = FakeWitness(instance, tmp_path / "a", "a.test/w")
    gone = FakeWitness(instance, tmp_path / "b", "b.test/w")
    gone.faults = [_down] * 10
    ledger = instance.ledger
    with _client(good, gone) as http:
        worker = CosigningWorker(ledger, _settings(good, gone, attempts=1), http).start()
        ledger.on_checkpoint = worker.notify
        try:
            before = time.time()
            append_sources(ledger, instance.writer_key(), [1])
            assert worker.wait_idle(10)
            samples = scrape(Metrics(ledger, cosigning=worker).exposition().decode())
        finally:
            worker.stop()
    size = ledger.checkpoint().size
    held = "claims_ledger_witness_cosigned_size"
    assert value(samples, held, witness="a.test/w") == size
    assert value(samples, held, witness="b.test/w") == 0
    success = "claims_ledger_witness_last_success_timestamp_seconds"
    assert (value(samples, success, witness="a.test/w") or 0) >= before
    assert value(samples, success, witness="b.test/w") is None
    failures = "claims_ledger_witness_failures_total"
    assert value(samples, failures, witness="a.test/w") == 0
    assert value(samples, failures, witness="b.test/w") == 1
    assert value(samples, "claims_ledger_checkpoint_cosignatures") == 1
    [a, b] = worker.status()
    assert (a.last_outcome, b.last_outcome) == ("cosigned", "unreachable")


def test_operation_labels_are_bounded() -> None:
    names = OperationNames()
    labels = {names.label(f"Op{n}") for n in range(MAX_OPERATION_NAMES + 50)}
    assert len(labels) == MAX_OPERATION_NAMES + 1 and "other" in labels
    assert names.label("Op0") == "Op0"  # one seen before keeps its label
    assert names.label("not a name!") == "other"
    assert names.label("x" * 65) == "other"
    assert names.label(None) == ""
