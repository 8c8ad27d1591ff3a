"""Prometheus metrics of a served ledger, exposed at ``/metrics`` (prometheus_client).

Counted per request (``RequestLog`` observes every response):

- ``claims_ledger_http_requests_total{path, operation, status}``
- ``claims_ledger_http_request_duration_seconds{path, operation}`` (histogram)
- ``claims_ledger_rate_limited_requests_total{path}`` (answers 429)
- ``claims_ledger_persisted_queries_total{result}`` (``hit``, ``miss``, ``registered``)
- ``claims_ledger_append_batches_total`` (appends committed by this server)

Read from the store at each scrape (every writer's appends, the CLI's too):

- ``claims_ledger_checkpoint_size`` (entries in the log at its latest checkpoint)
- ``claims_ledger_checkpoint_timestamp_seconds`` (when that checkpoint was signed)
- ``claims_ledger_checkpoint_cosignatures`` (witness cosignatures stored on it)
- ``claims_ledger_witness_cosigned_size{witness}`` (largest size each witness cosigned)

From this process: ``claims_ledger_witness_last_success_timestamp_seconds{witness}``,
``claims_ledger_witness_failures_total{witness}`` (``ledger.cosigning``),
``claims_ledger_event_streams`` (open /events streams) and
``claims_ledger_persisted_query_cache_entries``.

Labels never carry what a client chose freely: ``path`` is one of the routes (else
``other``), ``operation`` a GraphQL operation name only among the first
``MAX_OPERATION_NAMES`` well-formed names seen (else ``other``), so the series are bounded
whatever the network sends.

With several worker processes the counters and histograms are shared through
prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by
``api.serve``): any worker's scrape sums every worker's.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ledger.cosigning import CosigningWorker
from ledger.service import Ledger

ROUTES = ("/graphql", "/checkpoint", "/healthz", "/metrics", "/events")
MAX_OPERATION_NAMES = 100
"""Distinct GraphQL operation names a process gives series of their own."""
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def path_label(path: str) -> str:
    return path if path in ROUTES else "other"


class OperationNames:
    """Maps operation names to bounded label values (thread-safe)."""

    def __init__(self, most: int = MAX_OPERATION_NAMES) -> None:
        self.most = most
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if name is None:
            return ""
        if not _NAME.match(name):
            return "other"
        with self.lock:
            if name in self.seen:
                return name
            if len(self.seen) < self.most:
                self.seen.add(name)
                return name
        return "other"


class _StoreCollector(Collector):
    """What is read at scrape time: the log's latest checkpoint, the witnesses."""

    def __init__(
        self,
        ledger: Ledger,
        cosigning: CosigningWorker | None,
        gauges: Callable[[], dict[str, int]],
    ) -> None:
        self.ledger = ledger
        self.cosigning = cosigning
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        store = self.ledger.store
        checkpoint = store.checkpoint()
        size = GaugeMetricFamily(
            "claims_ledger_checkpoint_size", "Entries in the log at its latest checkpoint."
        )
        signed = GaugeMetricFamily(
            "claims_ledger_checkpoint_timestamp_seconds",
            "When the latest checkpoint was signed (Unix seconds).",
        )
        cosigned = GaugeMetricFamily(
            "claims_ledger_checkpoint_cosignatures",
            "Witness cosignatures stored on the latest checkpoint.",
        )
        if checkpoint is not None:
            size.add_metric([], checkpoint.size)
            signed.add_metric([], _unix(checkpoint.signed_at))
            cosigned.add_metric([], len(store.cosignatures(checkpoint.size)))
        yield from (size, signed, cosigned)
        if self.cosigning is not None:
            yield from self._witnesses(self.cosigning)
        for name, (text, value) in _PROCESS_GAUGES.items():
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], self.gauges().get(name, value))
            yield gauge

    def _witnesses(self, cosigning: CosigningWorker) -> Iterable[Metric]:
        held = GaugeMetricFamily(
            "claims_ledger_witness_cosigned_size",
            "The largest tree size each witness has cosigned (stored cosignatures).",
            labels=["witness"],
        )
        success = GaugeMetricFamily(
            "claims_ledger_witness_last_success_timestamp_seconds",
            "When this process last found a witness's cosignature of the checkpoint it asked "
            "about (Unix seconds).",
            labels=["witness"],
        )
        failures = CounterMetricFamily(
            "claims_ledger_witness_failures",
            "Requests to a witness that ended refused or unreachable (this process).",
            labels=["witness"],
        )
        for witness in cosigning.settings.witnesses:
            cosigned = self.ledger.store.latest_cosigned_size(witness.name, witness.key_id)
            held.add_metric([witness.name], cosigned or 0)
        for status in cosigning.status():
            if status.last_success is not None:
                success.add_metric([status.witness], status.last_success)
            failures.add_metric([status.witness], status.failures)
        return (held, success, failures)


_PROCESS_GAUGES = {
    "claims_ledger_event_streams": ("Open /events streams (this process).", 0),
    "claims_ledger_persisted_query_cache_entries": (
        "Persisted queries held (this process).",
        0,
    ),
}


def _unix(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


class Metrics:
    """The server's metrics; ``exposition()`` is the text a scrape gets.

    ``gauges`` gives this process's gauges (``_PROCESS_GAUGES`` names) at scrape time.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        cosigning: CosigningWorker | None = None,
        gauges: Callable[[], dict[str, int]] = dict,
    ) -> None:
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = CollectorRegistry()
        self.operations = OperationNames()
        self.requests = Counter(
            "claims_ledger_http_requests",
            "HTTP requests answered, by route, GraphQL operation name and status.",
            ["path", "operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "claims_ledger_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            ["path", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "claims_ledger_rate_limited_requests",
            "Requests refused by a rate limit (429).",
            ["path"],
            registry=self.registry,
        )
        self.persisted = Counter(
            "claims_ledger_persisted_queries",
            "Requests naming a persisted query by hash: hit, miss, registered.",
            ["result"],
            registry=self.registry,
        )
        self.batches = Counter(
            "claims_ledger_append_batches",
            "Append batches (each ends with a signed checkpoint) committed by this server.",
            registry=self.registry,
        )
        self.store = _StoreCollector(ledger, cosigning, gauges)

    def observe(self, path: str, operation: str | None, status: int, seconds: float) -> None:
        route = path_label(path)
        label = self.operations.label(operation)
        self.requests.labels(route, label, str(status)).inc()
        self.latency.labels(route, label).observe(seconds)
        if status == 429:
            self.rate_limited.labels(route).inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus's text format (reads the store: call off the loop)."""
        if self.multiprocess_dir is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        else:
            registry = CollectorRegistry()
            registry.register(_Forward(self.registry))
        registry.register(self.store)
        return generate_latest(registry)


class _Forward(Collector):
    """This process's own registry, collected inside a scrape registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.inner = registry

    def collect(self) -> Iterable[Metric]:
        return self.inner.collect()
