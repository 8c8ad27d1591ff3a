"""GET /events over real HTTP: a mutation or a CLI append in another process reaches an
open stream as claim events and a checkpoint event; Last-Event-ID resumes; the stream
cap answers 503 with Retry-After; a quiet stream gets heartbeats."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from api.events import BUFFER, EventHub, _Stream, encode, note_size
from ledger.service import Ledger
from tests.api.server_process import Running, running
from tests.helpers import QUOTE, run_cli

FAST = {"LEDGER_API_EVENT_POLL": "0.1", "LEDGER_API_EVENT_HEARTBEAT": "0.5"}
INGEST = "mutation($text: String!) { ingestSource(text: $text) { __typename } }"


class Reader:
    """Reads one /events stream in a thread, collecting (id, event, data) and comments."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: list[tuple[int | None, str, Any]] = []
        self.comments = 0
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self.error: httpx.HTTPError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}))
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read_events(url, headers)
        except httpx.HTTPError as exc:
            self.error = exc

    def _read_events(self, url: str, headers: dict[str, str]) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=30)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            self.status, self.headers = response.status_code, response.headers
            if response.status_code != 200:
                return
            fields: dict[str, str] = {}
            for raw in response.iter_lines():
                if self._stop.is_set():
                    return
                if raw.startswith(":"):
                    self.comments += 1
                elif raw == "":
                    if "event" in fields:
                        event_id = int(fields["id"]) if "id" in fields else None
                        self.events.append((event_id, fields["event"], json.loads(fields["data"])))
                    fields = {}
                else:
                    name, _, value = raw.partition(": ")
                    fields[name] = value

    def wait(self, predicate: Any, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            assert time.monotonic() < deadline, f"waited for events; have {self.events}"
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=40)

    def kinds(self) -> list[str]:
        return [kind for _, kind, _ in self.events]


def _checkpoints(reader: Reader) -> list[dict[str, Any]]:
    return [data for _, kind, data in reader.events if kind == "checkpoint"]


def _size(server: Running) -> int:
    response = httpx.post(f"{server.url}/graphql", json={"query": "{ checkpoint { size } }"})
    return int(response.json()["data"]["checkpoint"]["size"])


def _ingest(server: Running, n: int) -> None:
    text = f"The minister said on Monday that {QUOTE} Report number {n}."
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": INGEST, "variables": {"text": text}},
        headers={"authorization": f"Bearer {server.token}"},
        timeout=30,
    )
    assert "errors" not in response.json(), response.text


def _claims(server: Running, after: int) -> list[dict[str, Any]]:
    """Every claim at seq >= after, from GraphQL (what the stream must announce)."""
    query = "{ claims(first: 100) { edges { node { id claimId seq } } } }"
    edges = httpx.post(f"{server.url}/graphql", json={"query": query}).json()["data"]["claims"]
    nodes = [e["node"] for e in edges["edges"]]
    return sorted((n for n in nodes if n["seq"] >= after), key=lambda n: n["seq"])


def test_appends_reach_an_open_stream(db_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running(home, db_url, env=FAST) as server:
        reader = Reader(f"{server.url}/events")
        try:
            reader.wait(lambda r: r.kinds() == ["checkpoint"])
            assert reader.headers is not None
            assert reader.headers["content-type"].startswith("text/event-stream")
            start = _size(server)
            [first] = _checkpoints(reader)
            assert first["size"] == start == reader.events[0][0]
            assert first["note"] == httpx.get(f"{server.url}/checkpoint").text

            _ingest(server, 1)  # through the API of this server
            reader.wait(lambda r: len(_checkpoints(r)) == 2)
            middle = _size(server)
            claims = _claims(server, start)
            announced = [(i, d) for i, k, d in reader.events if k == "claim"]
            assert claims and [d for _, d in announced] == [
                {"id": c["id"], "claimId": c["claimId"], "seq": c["seq"]} for c in claims
            ]
            assert [i for i, _ in announced] == [c["seq"] + 1 for c in claims]
            assert _checkpoints(reader)[1]["size"] == middle == reader.events[-1][0]

            # An append by another process (the CLI) is seen too.
            article = tmp_path / "article.txt"
            article.write_text(f"The spokesman said that {QUOTE} He spoke on Tuesday.\n")
            result = run_cli(
                home, "ingest", str(article), LEDGER_DATABASE_URL=db_url, LEDGER_KEY_PASSPHRASE="pw"
            )
            assert result.returncode == 0, result.stderr
            reader.wait(lambda r: len(_checkpoints(r)) == 3)
            end = _size(server)
            assert _checkpoints(reader)[2]["size"] == end > middle
            late = [d["seq"] for _, k, d in reader.events if k == "claim" and d["seq"] >= middle]
            assert late == [c["seq"] for c in _claims(server, middle)]
        finally:
            reader.close()

        # Resuming from the first checkpoint replays both appends' claims, then the latest
        # checkpoint; from the latest, nothing is replayed.
        resumed = Reader(f"{server.url}/events", {"last-event-id": str(start)})
        try:
            resumed.wait(lambda r: "checkpoint" in r.kinds())
            seqs = [d["seq"] for _, k, d in resumed.events if k == "claim"]
            assert seqs == [c["seq"] for c in _claims(server, start)]
            assert resumed.kinds()[-1] == "checkpoint" and _checkpoints(resumed)[0]["size"] == end
        finally:
            resumed.close()
        current = Reader(f"{server.url}/events?after={end}")
        try:
            current.wait(lambda r: r.comments >= 1)  # a heartbeat, and no event
            assert current.events == []
        finally:
            current.close()


def test_stream_cap_answers_503_with_retry_after(db_url: str, tmp_path: Path) -> None:
    env = {**FAST, "LEDGER_API_EVENT_STREAMS": "1"}
    with running(tmp_path / "home", db_url, env=env) as server:
        first = Reader(f"{server.url}/events")
        try:
            first.wait(lambda r: r.kinds() == ["checkpoint"])
            refused = httpx.get(f"{server.url}/events", timeout=10)
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            # Other requests are served while the stream is open.
            assert httpx.get(f"{server.url}/healthz").status_code == 200
        finally:
            first.close()
        deadline = time.monotonic() + 10  # the server notices the closed stream
        while _status(f"{server.url}/events?after=999999") == 503:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def _status(url: str) -> int:
    with httpx.stream("GET", url, timeout=5) as response:
        return response.status_code


def test_event_encoding() -> None:
    assert encode("claim", {"seq": 4}, 5) == b'id: 5\nevent: claim\ndata: {"seq":4}\n\n'
    assert encode("gap", {"from": 0, "to": 3}) == b'event: gap\ndata: {"from":0,"to":3}\n\n'
    note = "claims-ledger/local\n42\nabc=\n\n\u2014 claims-ledger/local sig\n"
    assert note_size(note) == 42
    data = encode("checkpoint", {"size": 42, "note": note}, 42).decode().split("\n")[2]
    assert json.loads(data.removeprefix("data: "))["note"] == note  # one line, exact text


def test_a_reader_that_falls_behind_is_dropped_not_buffered(ledger: Ledger) -> None:
    """The per-stream buffer is bounded: past BUFFER waiting events the stream is dropped
    (its client resumes with Last-Event-ID) and the other streams go on."""

    async def scenario() -> None:
        hub = EventHub(ledger)
        slow, fast = _Stream(), _Stream()
        hub.streams |= {slow, fast}
        for n in range(BUFFER):
            hub._fan_out(encode("claim", {"seq": n}, n + 1))
            fast.queue.get_nowait()  # this one keeps up
        assert not slow.dropped and slow.queue.qsize() == BUFFER
        hub._fan_out(encode("claim", {"seq": BUFFER}, BUFFER + 1))
        assert slow.dropped and hub.streams == {fast}
        assert fast.queue.qsize() == 1 and not fast.dropped

    asyncio.run(scenario())


def test_stopping_the_server_ends_open_streams_at_once(db_url: str, tmp_path: Path) -> None:
    """Streams never end by themselves; a stop ends them properly instead of waiting out
    the graceful-shutdown time (5 s) and cancelling them."""
    with running(tmp_path / "home", db_url, env=FAST) as server:
        reader = Reader(f"{server.url}/events")
        reader.wait(lambda r: r.kinds() == ["checkpoint"])
        started = time.monotonic()
        server.stop()
        stopped = time.monotonic() - started
        reader._thread.join(timeout=10)
        assert not reader._thread.is_alive() and reader.error is None  # ended properly
        assert stopped < 4, stopped
        assert "graceful shutdown exceeded" not in server.stderr.read_text()
