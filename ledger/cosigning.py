"""The log asks its witnesses for cosignatures (c2sp.org/tlog-witness, decision 0011).

After each append that signs a new checkpoint, a background thread per witness posts
``add-checkpoint`` with the size that witness last cosigned (the largest size of its
cosignatures stored here) and a consistency proof from it. A 409 names the size the
witness holds: the request is made once more from that size. Transport failures and 5xx
are retried a bounded number of times with a doubling backoff; every request has a
timeout. Nothing here runs inside an append's transaction or lock, and an append only
sets an event: a witness that is down never slows appends or API requests.

Each cosignature received is verified against the configured witness key before it is
stored (``Store.add_cosignature``, append-only); a bad one is logged and dropped.

Configuration (``LEDGER_WITNESSES``, a TOML file; docs/operations.md)::

    quorum = 2            # what `verify` and clients should require (k of n)
    timeout = 5           # seconds per request (optional)

    [[witness]]
    vkey = "witness1.example/w+1a2b3c4d+BB…"
    url = "https://witness1.example"
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ledger.checkpoint import NoteSignature, SignedNote
from ledger.cosignature import CosignerKey, WitnessPolicy
from ledger.errors import ConfigError, FormatError, LedgerError, SignatureError
from ledger.store import StoredCheckpoint, StoredCosignature
from ledger.witness import AddCheckpoint

if TYPE_CHECKING:
    from ledger.service import Ledger

log = logging.getLogger("ledger.cosigning")

DEFAULT_TIMEOUT = 5.0
"""Seconds one add-checkpoint request may take (connect, send, answer)."""
DEFAULT_ATTEMPTS = 4
"""Tries per witness and checkpoint when the witness cannot be reached or answers 5xx."""
DEFAULT_BACKOFF = 0.5
"""Seconds before the second try; doubled before each later one."""


# --- Configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class LogWitness:
    """A witness the log asks: its cosigner key (name and key ID) and its base URL."""

    key: CosignerKey
    url: str

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def key_id(self) -> str:
        return self.key.key_id.hex()


@dataclass(frozen=True)
class WitnessSettings:
    """The log's witnesses and the quorum readers should require of them."""

    witnesses: tuple[LogWitness, ...]
    quorum: int
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF

    def __post_init__(self) -> None:
        self.policy()  # the witnesses and quorum make a valid k-of-n policy
        if not (self.timeout > 0 and self.attempts >= 1 and self.backoff >= 0):
            raise FormatError("witness timeout must be positive and attempts at least 1")

    def policy(self) -> WitnessPolicy:
        return WitnessPolicy(tuple(w.key for w in self.witnesses), self.quorum)

    @classmethod
    def load(cls, path: Path) -> WitnessSettings:
        """Read the TOML file (format in the module docstring); ConfigError names what is
        wrong."""
        where = f"LEDGER_WITNESSES {path}"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        tables = raw.get("witness", [])
        if not isinstance(tables, list) or not tables:
            raise ConfigError(f"{where}: needs at least one [[witness]] table")
        witnesses = tuple(
            _log_witness(t, f"{where}: [[witness]] {n}") for n, t in enumerate(tables, 1)
        )
        quorum = raw.get("quorum", len(witnesses))
        timeout = raw.get("timeout", DEFAULT_TIMEOUT)
        attempts = raw.get("attempts", DEFAULT_ATTEMPTS)
        if not isinstance(quorum, int) or isinstance(quorum, bool):
            raise ConfigError(f"{where}: 'quorum' must be a whole number")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            raise ConfigError(f"{where}: 'timeout' must be a number of seconds")
        if not isinstance(attempts, int) or isinstance(attempts, bool):
            raise ConfigError(f"{where}: 'attempts' must be a whole number")
        try:
            return cls(witnesses, quorum, float(timeout), attempts)
        except FormatError as exc:
            raise ConfigError(f"{where}: {exc}") from exc


def _log_witness(table: object, where: str) -> LogWitness:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is not a table")
    vkey, url = table.get("vkey"), table.get("url")
    if not isinstance(vkey, str) or not isinstance(url, str):
        raise ConfigError(f"{where}: 'vkey' and 'url' must be strings")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: url {url!r} must start with http:// or https://")
    try:
        key = CosignerKey.from_vkey(vkey)
    except FormatError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return LogWitness(key, url.rstrip("/"))


# --- Asking one witness -------------------------------------------------------------------


@dataclass(frozen=True)
class AskResult:
    """How asking one witness about one checkpoint ended.

    ``outcome``: ``cosigned`` (a new cosignature stored), ``current`` (one was already
    stored for this checkpoint), ``refused`` (the witness said no: a 4xx other than a
    resolved 409, or an invalid cosignature), ``unreachable`` (every attempt failed in
    transport or with 5xx), ``stopped`` (the worker stopped while backing off).
    """

    witness: str
    outcome: str
    size: int
    detail: str = ""


Sleep = Callable[[float], bool]
"""Waits the given seconds; True if asked to stop meanwhile."""


def _plain_sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def ask_witness(
    ledger: Ledger,
    witness: LogWitness,
    settings: WitnessSettings,
    http: httpx.Client,
    *,
    checkpoint: StoredCheckpoint | None = None,
    sleep: Sleep = _plain_sleep,
) -> AskResult:
    """Ask ``witness`` to cosign ``checkpoint`` (default: the latest) and store what it
    returns once verified. Never raises for what the witness does."""
    checkpoint = checkpoint or ledger.checkpoint()
    store = ledger.store
    old = store.latest_cosigned_size(witness.name, witness.key_id) or 0
    if old >= checkpoint.size:
        return AskResult(witness.name, "current", checkpoint.size)
    resized = False
    attempt = 0
    failure = ""
    while attempt < settings.attempts:
        attempt += 1
        body = _request_body(ledger, old, checkpoint)
        try:
            response = http.post(
                f"{witness.url}/add-checkpoint", content=body, timeout=settings.timeout
            )
        except httpx.HTTPError as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            status = response.status_code
            if status == 200:
                return _store_lines(ledger, witness, checkpoint, response.text)
            if status == 409 and not resized:
                held = _held_size(response)
                if held is None:
                    return _refused(witness, checkpoint, f"409 without a size: {response.text!r}")
                if held > checkpoint.size:
                    # Another process of this ledger may have appended and been cosigned
                    # since this checkpoint was read: ask about the latest one instead.
                    latest = ledger.checkpoint()
                    if latest.size < held:
                        return _refused(
                            witness,
                            checkpoint,
                            f"the witness holds size {held}, above this log's {latest.size}",
                        )
                    checkpoint = latest
                    if (
                        held == checkpoint.size
                        and (store.latest_cosigned_size(witness.name, witness.key_id) or 0) >= held
                    ):
                        return AskResult(witness.name, "current", checkpoint.size)
                if held == checkpoint.size and old == held:
                    return _refused(witness, checkpoint, "409 at the size held: a fork?")
                log.info(
                    "witness %s holds size %d (not %d); asking again from it",
                    witness.name,
                    held,
                    old,
                )
                old, resized = held, True
                attempt -= 1  # the retry with the right size is not a failed attempt
                continue
            if status < 500:
                return _refused(witness, checkpoint, f"{status}: {response.text.strip()[:200]}")
            failure = f"{status}: {response.text.strip()[:200]}"
        if attempt < settings.attempts:
            delay = settings.backoff * 2 ** (attempt - 1)
            log.info(
                "witness %s: attempt %d failed (%s); retrying in %.2f s",
                witness.name,
                attempt,
                failure,
                delay,
            )
            if sleep(delay):
                return AskResult(witness.name, "stopped", checkpoint.size, failure)
    log.warning(
        "witness %s unreachable for checkpoint %d after %d attempts: %s",
        witness.name,
        checkpoint.size,
        settings.attempts,
        failure,
    )
    return AskResult(witness.name, "unreachable", checkpoint.size, failure)


def _request_body(ledger: Ledger, old: int, checkpoint: StoredCheckpoint) -> bytes:
    proof = (
        ledger.consistency_proof(old, checkpoint.size).hashes if 0 < old < checkpoint.size else ()
    )
    return AddCheckpoint(old, proof, checkpoint.note).to_bytes()


def _held_size(response: httpx.Response) -> int | None:
    text = response.text
    if not text.endswith("\n") or not text[:-1].isdigit() or text[:-1] != str(int(text[:-1])):
        return None
    return int(text[:-1])


def _refused(witness: LogWitness, checkpoint: StoredCheckpoint, detail: str) -> AskResult:
    log.warning("witness %s refused checkpoint %d: %s", witness.name, checkpoint.size, detail)
    return AskResult(witness.name, "refused", checkpoint.size, detail)


def _store_lines(
    ledger: Ledger, witness: LogWitness, checkpoint: StoredCheckpoint, body: str
) -> AskResult:
    """Verify each cosignature line of a 200 answer; store the valid ones from this
    witness's key (others are logged and dropped)."""
    text = SignedNote.from_text(checkpoint.note).text
    stored = 0
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        try:
            signature = NoteSignature.from_line(line, number)
            if (signature.name, signature.key_id) != (witness.name, witness.key.key_id):
                log.info("witness %s: ignoring a line from %s", witness.name, signature.name)
                continue
            timestamp = witness.key.verify(text, signature.signature)
        except (FormatError, SignatureError) as exc:
            log.warning(
                "witness %s sent an invalid cosignature on checkpoint %d, dropped: %s",
                witness.name,
                checkpoint.size,
                exc,
            )
            continue
        ledger.store.add_cosignature(
            StoredCosignature(
                size=checkpoint.size,
                witness=witness.name,
                key_id=witness.key_id,
                line=signature.to_line(),
                timestamp=timestamp,
                received_at=_now(),
            )
        )
        stored += 1
    if not stored:
        return _refused(witness, checkpoint, "no valid cosignature in its answer")
    return AskResult(witness.name, "cosigned", checkpoint.size)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def ask_all(
    ledger: Ledger, settings: WitnessSettings, http: httpx.Client | None = None
) -> list[AskResult]:
    """Ask every witness about the latest checkpoint now, side by side; wait for all."""
    checkpoint = ledger.checkpoint()
    client = http or httpx.Client()
    results: list[AskResult | None] = [None] * len(settings.witnesses)

    def one(index: int, witness: LogWitness) -> None:
        try:
            results[index] = ask_witness(ledger, witness, settings, client, checkpoint=checkpoint)
        except LedgerError as exc:
            results[index] = AskResult(witness.name, "unreachable", checkpoint.size, str(exc))

    threads = [
        threading.Thread(target=one, args=(n, w), daemon=True)
        for n, w in enumerate(settings.witnesses)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if http is None:
        client.close()
    return [r for r in results if r is not None]


# --- The background worker ----------------------------------------------------------------


@dataclass
class _Lane:
    """One witness's thread and its pending request."""

    witness: LogWitness
    wanted: threading.Event = field(default_factory=threading.Event)
    busy: bool = False
    thread: threading.Thread | None = None
    last: AskResult | None = None
    last_success: float | None = None
    failures: int = 0


@dataclass(frozen=True)
class WitnessStatus:
    """What this process knows of one witness: when it last held a cosignature of the
    latest checkpoint asked about (``last_success``, Unix seconds; None: not yet), how
    many requests ended ``refused`` or ``unreachable`` since the worker started, and the
    last outcome (``AskResult.outcome``; None: never asked)."""

    witness: str
    last_success: float | None
    failures: int
    last_outcome: str | None
    last_size: int | None


class CosigningWorker:
    """A thread per witness that asks it about the latest checkpoint whenever ``notify``
    is called (appends call it after they commit). ``notify`` only sets events, so it
    never blocks; a witness that is slow or down only delays its own thread."""

    def __init__(
        self,
        ledger: Ledger,
        settings: WitnessSettings,
        http: httpx.Client | None = None,
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.http = http or httpx.Client()
        self._own_http = http is None
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._lanes = [_Lane(w) for w in settings.witnesses]

    def start(self) -> CosigningWorker:
        for lane in self._lanes:
            lane.thread = threading.Thread(
                target=self._run, args=(lane,), name=f"cosign {lane.witness.name}", daemon=True
            )
            lane.thread.start()
        return self

    def notify(self) -> None:
        """A new checkpoint may exist: every witness is asked (once more) soon."""
        with self._idle:
            for lane in self._lanes:
                lane.busy = True  # pending until its thread has asked
                lane.wanted.set()

    def results(self) -> list[AskResult]:
        """The last outcome per witness asked so far."""
        return [lane.last for lane in self._lanes if lane.last is not None]

    def status(self) -> list[WitnessStatus]:
        """Every configured witness's status, in configuration order (read-only)."""
        return [
            WitnessStatus(
                witness=lane.witness.name,
                last_success=lane.last_success,
                failures=lane.failures,
                last_outcome=lane.last.outcome if lane.last is not None else None,
                last_size=lane.last.size if lane.last is not None else None,
            )
            for lane in self._lanes
        ]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no witness has a request pending or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not any(lane.busy for lane in self._lanes), timeout)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the threads (backoffs end at once; a request in flight gets ``timeout``)."""
        self._stop.set()
        for lane in self._lanes:
            lane.wanted.set()
        for lane in self._lanes:
            if lane.thread is not None:
                lane.thread.join(timeout)
        if self._own_http:
            self.http.close()

    def _run(self, lane: _Lane) -> None:
        while True:
            lane.wanted.wait()
            if self._stop.is_set():
                return
            lane.wanted.clear()
            try:
                lane.last = ask_witness(
                    self.ledger, lane.witness, self.settings, self.http, sleep=self._stop.wait
                )
                if lane.last.outcome in ("cosigned", "current"):
                    lane.last_success = time.time()
                elif lane.last.outcome in ("refused", "unreachable"):
                    lane.failures += 1
            except Exception:  # a worker thread must survive anything
                log.exception("asking witness %s failed", lane.witness.name)
            finally:
                with self._idle:
                    if not lane.wanted.is_set():
                        lane.busy = False
                    self._idle.notify_all()
