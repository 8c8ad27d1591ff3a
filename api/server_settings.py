"""Settings of the HTTP server itself (access log, metrics, persisted queries, event
stream, proxies), read from ``LEDGER_API_*`` / ``LEDGER_TRUSTED_PROXIES`` when asked for.

They concern serving only, so they live beside the server rather than in
``ledger.config.Settings`` (which the CLI's other commands read too).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ledger.config import count_setting, env_flag, seconds_setting
from ledger.errors import ConfigError
from ledger.inputs import web_url

DEFAULT_APQ_CACHE_SIZE = 1000
"""Persisted queries each worker keeps (LEDGER_API_APQ_CACHE_SIZE)."""
DEFAULT_EVENT_STREAMS = 100
"""Concurrent /events streams per worker (LEDGER_API_EVENT_STREAMS)."""
DEFAULT_EVENT_POLL = 0.5
"""Seconds between two looks at the log's head by the event stream (LEDGER_API_EVENT_POLL)."""
DEFAULT_EVENT_HEARTBEAT = 15.0
"""Seconds of quiet after which a stream gets a comment line (LEDGER_API_EVENT_HEARTBEAT)."""
DEFAULT_OPERATION_THREADS = 1
"""GraphQL operations one worker runs at once, off its event loop (LEDGER_API_THREADS).

One: operations compute in Python, so a second thread in the same process adds no CPU,
only contention for the interpreter lock, and the event loop (which answers /healthz and
reads and writes every request) then waits behind several threads each time it needs the
lock: under a mixed load /healthz's p99 was 90-390 ms with 2 or 4 threads, 25-50 ms with
one (docs/benchmarks.md, "GraphQL read path, one worker"). Concurrency comes from
workers, which are processes. The cost: in a worker, an operation waits for the one
before it (its time limit running), so a heavy one delays the next cheap one."""


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    access_log: bool = True
    """One JSON line per request on the ``claims_ledger.access`` logger (LEDGER_API_ACCESS_LOG)."""
    metrics: bool = True
    """Prometheus metrics at ``/metrics`` (LEDGER_API_METRICS)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For and
    X-Forwarded-Proto are believed (LEDGER_TRUSTED_PROXIES; none by default)."""
    apq_cache_size: int = DEFAULT_APQ_CACHE_SIZE
    event_streams: int = DEFAULT_EVENT_STREAMS
    event_poll: float = DEFAULT_EVENT_POLL
    event_heartbeat: float = DEFAULT_EVENT_HEARTBEAT
    operation_threads: int = DEFAULT_OPERATION_THREADS
    public_url: str | None = None
    """The site's absolute address, for the absolute URLs the pages give (JSON-LD ids);
    the Host header is never used for them (LEDGER_PUBLIC_URL; ``serve`` defaults it to
    the address it binds)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        return cls(
            access_log=env_flag(env, "LEDGER_API_ACCESS_LOG", default=True),
            metrics=env_flag(env, "LEDGER_API_METRICS", default=True),
            trusted_proxies=proxies_setting(env, "LEDGER_TRUSTED_PROXIES"),
            apq_cache_size=count_setting(env, "LEDGER_API_APQ_CACHE_SIZE", DEFAULT_APQ_CACHE_SIZE),
            event_streams=count_setting(env, "LEDGER_API_EVENT_STREAMS", DEFAULT_EVENT_STREAMS),
            event_poll=seconds_setting(env, "LEDGER_API_EVENT_POLL", DEFAULT_EVENT_POLL),
            event_heartbeat=seconds_setting(
                env, "LEDGER_API_EVENT_HEARTBEAT", DEFAULT_EVENT_HEARTBEAT
            ),
            operation_threads=count_setting(env, "LEDGER_API_THREADS", DEFAULT_OPERATION_THREADS),
            public_url=public_url_setting(env, "LEDGER_PUBLIC_URL"),
        )


def public_url_setting(env: Mapping[str, str], name: str) -> str | None:
    """An absolute http(s) URL with a host and no query or fragment (a path is kept, for
    a site under a prefix), without its trailing slash; None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if web_url(raw) is None or "?" in raw or "#" in raw:
        raise ConfigError(
            f"{name} must be an absolute http or https URL such as https://ledger.example.org "
            f"(no query or fragment); got {raw!r}"
        )
    return raw.rstrip("/")


def bind_url(host: str, port: int) -> str:
    """The address a server bound to ``host``:``port`` answers at (IPv6 in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def proxies_setting(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks (``10.0.0.0/8``); ``*`` trusts every
    address (only for a server no client can reach except through the proxy)."""
    proxies: list[str] = []
    for item in env.get(name, "").split(","):
        raw = item.strip()
        if not raw:
            continue
        if raw != "*":
            try:
                if "/" in raw:
                    ipaddress.ip_network(raw, strict=False)
                else:
                    ipaddress.ip_address(raw)
            except ValueError:
                raise ConfigError(
                    f"{name} must list IP addresses or networks such as 127.0.0.1 or "
                    f"10.0.0.0/8, separated by commas; got {raw!r}"
                ) from None
        if raw not in proxies:
            proxies.append(raw)
    return tuple(proxies)
