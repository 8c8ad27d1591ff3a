"""``GET /events``: a server-sent event stream of new checkpoints and new claims, so
monitors, witnesses and dashboards need not poll the API.

Events (``text/event-stream``; every ``data`` is one line of JSON)::

    id: 42
    event: checkpoint
    data: {"size": 42, "note": "<the signed note, with any witness cosignatures>"}

    id: 41
    event: claim
    data: {"id": "<global id>", "claimId": "<hex>", "seq": 40}

    event: gap
    data: {"from": 0, "to": 9000}

An event's ``id`` is a tree size: a checkpoint's own, a claim's entry ``seq + 1`` (the
size of the log once it holds that entry). A client that reconnects with
``Last-Event-ID: N`` (browsers' EventSource do so by themselves), or first connects with
``?after=N``, gets every claim entry from seq N on, then the latest checkpoint; without
either it gets the latest checkpoint at once, then what follows. At most ``REPLAY``
entries are replayed: a client further behind first gets a ``gap`` event naming the
entries it missed (``from`` <= seq < ``to``), to be read through GraphQL. The same
checkpoint is sent again when witnesses' cosignatures are added to it.

One background task per worker process looks at the log's latest checkpoint every
``poll`` seconds (appends from other processes, the CLI's too, are seen the same way) and
hands new events to every stream. Each stream has a bounded buffer: a reader that falls
``BUFFER`` events behind, or whose connection takes more than ``SEND_TIMEOUT`` seconds to
accept an event, is dropped (it reconnects with its Last-Event-ID); appends and other
requests never wait for a stream. A comment line is sent after ``heartbeat`` seconds of
quiet. Past ``max_streams`` open streams a new one gets 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from dataclasses import dataclass, field

from anyio import to_thread
from starlette.datastructures import Headers, QueryParams
from starlette.types import Receive, Scope, Send

from api.ids import global_id
from api.media import error_response, scope_media_type
from ledger.errors import NotFound
from ledger.service import Ledger

log = logging.getLogger("claims_ledger.events")

REPLAY = 1000
"""Entries a resuming client is sent at most (older claims: a ``gap`` event)."""
BUFFER = 1024
"""Events a stream may have waiting before it is dropped."""
SEND_TIMEOUT = 30.0
"""Seconds a connection has to take one event before its stream is dropped."""
RETRY_MS = 2000
"""What the stream tells EventSource to wait before reconnecting."""
RETRY_AFTER = 5
"""Seconds a client refused at the stream cap is told to wait."""
EVENT_STREAM = "text/event-stream"


def encode(kind: str, data: object, event_id: int | None = None) -> bytes:
    """One server-sent event (its data: ``data`` as one line of JSON)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return f"{head}event: {kind}\ndata: {body}\n\n".encode("ascii")


HEARTBEAT = b": heartbeat\n\n"


def note_size(note: str) -> int:
    """The tree size a checkpoint note states (its second line)."""
    return int(note.split("\n", 2)[1])


@dataclass(eq=False)  # each stream is itself (hashed by identity)
class _Stream:
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(BUFFER))
    dropped: bool = False
    closing: bool = False


_HUBS: weakref.WeakSet[EventHub] = weakref.WeakSet()


def close_streams() -> None:
    """End every open stream of this process at once (the server is stopping): each ends
    its response properly, so the connection closes without waiting for a time-out.
    Call on the serving loop."""
    for hub in list(_HUBS):
        for stream in list(hub.streams):
            stream.closing = True
            with contextlib.suppress(asyncio.QueueFull):  # full: it wakes anyway
                stream.queue.put_nowait(b"")


@dataclass(frozen=True)
class _Head:
    size: int
    note: str | None


class EventHub:
    """The streams of one worker process and the task that feeds them."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        poll: float = 0.5,
        heartbeat: float = 15.0,
        max_streams: int = 100,
    ) -> None:
        self.ledger = ledger
        self.poll = poll
        self.heartbeat = heartbeat
        self.max_streams = max_streams
        self.streams: set[_Stream] = set()
        self.head = _Head(0, None)
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        _HUBS.add(self)

    # --- reading the log (in a worker thread) --------------------------------------------

    def _read_head(self) -> _Head:
        try:
            note = self.ledger.cosigned_note()
        except NotFound:
            return _Head(0, None)
        return _Head(note_size(note), note)

    def _claims(self, start: int, stop: int) -> list[bytes]:
        """Events for the claims extracted at ``start <= seq < stop`` (a ``gap`` first when
        that is more than ``REPLAY`` entries)."""
        events = []
        if stop - start > REPLAY:
            events.append(encode("gap", {"from": start, "to": stop - REPLAY}))
            start = stop - REPLAY
        for entry in self.ledger.entries(start, stop):
            if entry.kind == "claim.extracted":
                data = {
                    "id": global_id("Claim", entry.hash),
                    "claimId": entry.hash,
                    "seq": entry.seq,
                }
                events.append(encode("claim", data, entry.seq + 1))
        return events

    def _changes(self, old: _Head) -> tuple[_Head, list[bytes]]:
        new = self._read_head()
        events: list[bytes] = []
        if new.size > old.size:
            events += self._claims(old.size, new.size)
        if new.note is not None and new.note != old.note and new.size >= old.size:
            events.append(_checkpoint(new))
        return new, events

    # --- the poller -----------------------------------------------------------------------

    async def _start(self) -> None:
        async with self._starting:
            if self._task is None:
                self.head = await to_thread.run_sync(self._read_head)
                self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self.streams:
                await asyncio.sleep(self.poll)
                try:
                    head, events = await to_thread.run_sync(self._changes, self.head)
                except Exception:  # a database hiccup: look again at the next tick
                    log.exception("reading the log for /events failed")
                    continue
                self.head = head
                for event in events:
                    self._fan_out(event)
        finally:
            self._task = None

    def _fan_out(self, event: bytes) -> None:
        for stream in list(self.streams):
            try:
                stream.queue.put_nowait(event)
            except asyncio.QueueFull:
                self._drop(stream, "fell behind")

    def _drop(self, stream: _Stream, why: str) -> None:
        if not stream.dropped:
            stream.dropped = True
            self.streams.discard(stream)
            log.info("dropped an /events stream: it %s", why)

    # --- one stream -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI endpoint of ``GET /events``."""
        if len(self.streams) >= self.max_streams:
            refusal = error_response(
                503,
                f"this server already holds {self.max_streams} event streams: "
                f"retry in {RETRY_AFTER} s",
                code="SERVICE_UNAVAILABLE",
                media_type=scope_media_type(scope),
                headers={"retry-after": str(RETRY_AFTER)},
            )
            await refusal(scope, receive, send)
            return
        after = _resume_point(scope)
        if self._task is None:
            await self._start()
        stream = _Stream()
        self.streams.add(stream)  # from here on, every event past `head` reaches it
        head = self.head
        try:
            backlog: list[bytes] = []
            if after is not None and after < head.size:
                backlog = await to_thread.run_sync(self._claims, after, head.size)
            if head.note is not None and (after is None or after < head.size):
                backlog.append(_checkpoint(head))
            await self._stream(stream, backlog, receive, send)
        finally:
            self.streams.discard(stream)

    async def _stream(
        self, stream: _Stream, backlog: list[bytes], receive: Receive, send: Send
    ) -> None:
        headers = [
            (b"content-type", f"{EVENT_STREAM}; charset=utf-8".encode("ascii")),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
        ]
        if not await _send(
            send, {"type": "http.response.start", "status": 200, "headers": headers}
        ):
            return
        first = f"retry: {RETRY_MS}\n\n".encode("ascii") + b"".join(backlog)
        if not await _send(send, _body(first)):
            self._drop(stream, "did not take its backlog")
            return
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            while not stream.dropped:  # (or until the server stops: closing)
                waiting = asyncio.ensure_future(stream.queue.get())
                done, _ = await asyncio.wait(
                    {waiting, gone}, timeout=self.heartbeat, return_when=asyncio.FIRST_COMPLETED
                )
                if gone in done:
                    waiting.cancel()
                    return
                chunk = HEARTBEAT
                if waiting in done:
                    chunk = waiting.result()
                    while not stream.queue.empty():  # send what piled up in one write
                        chunk += stream.queue.get_nowait()
                else:
                    waiting.cancel()
                if stream.closing:
                    break
                if not await _send(send, _body(chunk)):
                    self._drop(stream, f"took more than {SEND_TIMEOUT:g} s to read an event")
                    return
            await _send(send, {"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone


def _checkpoint(head: _Head) -> bytes:
    return encode("checkpoint", {"size": head.size, "note": head.note}, head.size)


def _body(chunk: bytes) -> dict[str, object]:
    return {"type": "http.response.body", "body": chunk, "more_body": True}


async def _send(send: Send, message: dict[str, object]) -> bool:
    """Send ``message``; False if the connection did not take it within SEND_TIMEOUT."""
    try:
        await asyncio.wait_for(send(message), SEND_TIMEOUT)
    except TimeoutError:
        return False
    return True


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _resume_point(scope: Scope) -> int | None:
    """The tree size the client has seen: ``Last-Event-ID``, else ``?after=``; a value
    that is not a whole number is ignored (the stream starts at the latest checkpoint)."""
    for value in (
        Headers(scope=scope).get("last-event-id"),
        QueryParams(scope["query_string"]).get("after"),
    ):
        if value is not None and value.strip().isdigit() and len(value.strip()) <= 19:
            return int(value.strip())
    return None
