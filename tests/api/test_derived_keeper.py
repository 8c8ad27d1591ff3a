"""The keeper of the derived caches in a serve (decision 0039), on SQLite and PostgreSQL:
one process refreshes at a time (a database lock) while the others keep serving and try
again later; a serve's keeper refreshes in a child process, so a catch-up never runs in
the serving process, and the worker's own reads wait for it instead of deriving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.app import keeper_child
from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_document, read_text
from ledger.instance import Instance, open_instance
from ledger.keeper import CHILD_NICE, READ_YOUR_WRITES, DerivedKeeper
from ledger.store import Store
from ledger.store import derived as derived_store
from tests.api.conftest import _free_port
from tests.api.server_process import prepare
from tests.helpers import ROOT
from tests.liveness import wait_until_healthy
from tests.store.test_derived_freshness import full_derivation_differences
from tests.unit.line_stories import CONTAINERS


def ingest(instance: Instance, stories: range) -> None:
    for n in stories:
        source, published, text = CONTAINERS[n]
        doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
        ingest_document(
            instance.ledger,
            instance.writer_key(),
            doc,
            where=source,
            extractor=DeterministicExtractor(),
        )


@pytest.fixture
def other_store(db_url: str, instance: Instance) -> Iterator[Store]:
    """Another process's connection to the same database (opened after the instance made it)."""
    store = Store.open(db_url)
    yield store
    store.close()


@contextmanager
def lock_held_elsewhere(other_store: Store, keeper: DerivedKeeper) -> Iterator[None]:
    """Another process holds the refresh lock while ``keeper`` starts: the block runs
    once the keeper has found it taken (its first busy skip), the lock still held."""
    with derived_store.refresh_lock(other_store) as held:
        assert held
        keeper.start()
        deadline = time.monotonic() + 30
        while keeper.busy_skips < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keeper.busy_skips == 1
        yield


def test_one_process_refreshes_at_a_time_and_the_others_keep_serving(
    instance: Instance, other_store: Store
) -> None:
    ledger = instance.ledger
    keeper = DerivedKeeper(ledger, delay=0.01, retry=0.1).attach()
    with derived_store.refresh_lock(other_store) as held:  # another worker is catching up
        assert held
        keeper.start()
        ingest(instance, range(2))
        deadline = time.monotonic() + 30
        while keeper.busy_skips < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keeper.busy_skips >= 2  # tried, found it taken, tried again later
        assert not ledger.derived_status().current
        assert len(ledger.store.all_claims()) > 0  # serving meanwhile
        with derived_store.refresh_lock(other_store, wait=False) as again:
            assert not again  # a second holder is refused at once, not queued
    try:
        assert keeper.wait_idle(60)
        assert ledger.derived_status().current
        assert full_derivation_differences(ledger) == []
    finally:
        keeper.stop()


def test_reads_do_not_wait_while_another_process_catches_up_unless_this_one_appended(
    instance: Instance, other_store: Store
) -> None:
    """A worker that has not appended answers identities at once, flagged behind, while
    another process holds the refresh lock; once it appends, its reads wait for the
    keeper (read your writes, up to ``READ_YOUR_WRITES``)."""
    ledger = instance.ledger
    ingest(instance, range(2))
    ledger.derived_behind = False  # appended by a process that has ended
    keeper = DerivedKeeper(ledger, delay=0.01, retry=600).attach()
    try:
        with lock_held_elsewhere(other_store, keeper):
            started = time.monotonic()
            assert ledger.claimant_identities() == []  # never derived yet
            assert time.monotonic() - started < READ_YOUR_WRITES / 2
            assert not ledger.derived_status().current
            ingest(instance, range(2, 3))
            started = time.monotonic()
            ledger.claimant_identities()
            assert time.monotonic() - started >= READ_YOUR_WRITES * 0.9
    finally:
        keeper.stop()


def test_a_serves_keeper_refreshes_in_a_child_process(instance: Instance, db_url: str) -> None:
    ledger = instance.ledger
    child = keeper_child(db_url, instance)
    assert child is not None
    keeper = DerivedKeeper(ledger, delay=0.01, child=child).attach().start()
    try:
        assert keeper.wait_idle(60)
        ingest(instance, range(3))
        # the worker's own read waits for the keeper rather than deriving in its thread
        names = [c.name for c in ledger.claimant_identities()]
        assert ledger.derived_status().current
        assert any("Kirby" in n for n in names)
        ingest(instance, range(3, 5))
        assert keeper.wait_idle(60)
        assert ledger.derived_status().current
        assert full_derivation_differences(ledger) == []
        assert ledger._deriver is None  # nothing was derived in this process
        process = keeper._process
        assert process is not None and process.poll() is None
        assert _nice(process.pid) == min(19, _nice(os.getpid()) + CHILD_NICE)
    finally:
        keeper.stop()
    assert process.poll() is not None  # the child ends with its keeper


def test_a_database_in_memory_keeps_its_refresh_in_process(instance: Instance) -> None:
    assert keeper_child("sqlite://", instance) is None
    assert keeper_child("sqlite:///:memory:", instance) is None


def test_a_starting_workers_catch_up_ends_soon_after_another_process_caught_up(
    instance: Instance, other_store: Store
) -> None:
    """Another worker holds the refresh lock (catching up the same log): a starting worker
    waiting for its catch-up (``catch_up``) tries again at once, not ``retry`` seconds
    after it found the lock taken."""
    ledger = instance.ledger
    ingest(instance, range(2))
    keeper = DerivedKeeper(ledger, delay=0.01, retry=600).attach()
    try:
        with lock_held_elsewhere(other_store, keeper):
            pass  # found it taken: the next try is 600 s away
        started = time.monotonic()
        assert keeper.catch_up(30)
        assert time.monotonic() - started < 20
        assert ledger.derived_status().current
    finally:
        keeper.stop()


def test_a_starting_workers_child_runs_at_its_priority_until_the_catch_up_wait_ends(
    instance: Instance, db_url: str
) -> None:
    """The worker serves nothing while it waits for the catch-up: its child imports and
    refreshes at the worker's CPU priority then, and at ``CHILD_NICE`` lower after."""
    child = keeper_child(db_url, instance)
    assert child is not None
    ingest(instance, range(2))
    keeper = DerivedKeeper(instance.ledger, child=child).attach().start(catching_up=True)
    try:
        deadline = time.monotonic() + 30
        while keeper._process is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process = keeper._process
        assert process is not None
        assert _nice(process.pid) == _nice(os.getpid())
        assert keeper.catch_up(60)
        assert instance.ledger.derived_status().current
        assert _nice(process.pid) == min(19, _nice(os.getpid()) + CHILD_NICE)
    finally:
        keeper.stop()


def test_a_starting_worker_whose_caches_are_current_serves_without_waiting_for_its_child(
    instance: Instance, db_url: str
) -> None:
    """Nothing to catch up (the usual start: the last writer refreshed before it stopped):
    ``catch_up`` returns at once, before the child has even finished importing, so a serve
    starts as fast as it did with the keeper in a thread."""
    child = keeper_child(db_url, instance)
    assert child is not None
    ingest(instance, range(2))
    instance.ledger.refresh_derived()
    assert instance.ledger.derived_status().current
    keeper = DerivedKeeper(instance.ledger, child=child).attach().start(catching_up=True)
    try:
        assert keeper.catch_up(60)
        assert not keeper._ready.is_set()  # the child's start (~1 s of imports) not waited for
    finally:
        keeper.stop()


def _nice(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def test_closing_the_instance_ends_its_keepers_child(settings: Settings, db_url: str) -> None:
    instance = open_instance(settings)
    try:
        child = keeper_child(db_url, instance)
        assert child is not None
        keeper = instance.keeper = DerivedKeeper(instance.ledger, child=child).attach().start()
        assert keeper.wait_idle(60)
        process = keeper._process
        assert process is not None and process.poll() is None  # it stays, for the next refresh
    finally:
        instance.close()
    assert process.poll() is not None  # ended and waited for before the store closed
    assert instance.keeper is None


# A serve's keeper child (``python -m ledger.keeper``) never outlives its worker -------------


def _processes() -> dict[int, tuple[int, str, bytes]]:
    """Every process: pid -> (parent pid, state, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # it ended meanwhile
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        found[int(entry.name)] = (int(ppid), state, cmdline)
    return found


def _descendants(pid: int) -> dict[int, tuple[int, str, bytes]]:
    processes = _processes()
    found: dict[int, tuple[int, str, bytes]] = {}
    parents = {pid}
    while parents:
        children = {p: info for p, info in processes.items() if info[0] in parents}
        found.update(children)
        parents = set(children)
    return found


def _keeper_children(pid: int) -> list[int]:
    return [p for p, info in _descendants(pid).items() if b"ledger.keeper" in info[2]]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def _serve(
    tmp_path: Path, db_url: str, *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`claims-ledger serve` in a session of its own (as a terminal runs it: a signal to
    the group reaches every process of it), on a ledger whose caches are behind."""
    home = tmp_path / "home"
    prepare(home, db_url)
    port = _free_port()
    stderr = tmp_path / "serve.err"
    environment = {
        "LEDGER_HOME": str(home),
        "LEDGER_DATABASE_URL": db_url,
        "LEDGER_KEY_PASSPHRASE": "pw",
        "PATH": "/usr/bin:/bin",
    }
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        with stderr.open("rb") as err:
            wait_until_healthy(f"http://127.0.0.1:{port}", process, stderr=err)
        yield process, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for_keepers(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while len(found := _keeper_children(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.mark.parametrize("stop", ["SIGTERM", "Ctrl-C"])
def test_a_stopped_serve_leaves_no_keeper_child(tmp_path: Path, db_url: str, stop: str) -> None:
    """Stopped by SIGTERM to the server, or by Ctrl-C (SIGINT to every process of the
    group, the keeper's child too): once `serve` has exited, no keeper child runs (on
    PostgreSQL the schema is then dropped: a child still connected made that deadlock)."""
    with _serve(tmp_path, db_url, "--workers", "2") as (process, stderr):
        keepers = _wait_for_keepers(process.pid, 2)
        assert len(keepers) == 2  # one a worker, each at the log's head
        if stop == "SIGTERM":
            process.terminate()
        else:
            os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
        # a worker still starting when the stop came (no server to stop yet) dies at once:
        # its child is signalled by the kernel as it does (a moment to be scheduled)
        deadline = time.monotonic() + 2
        while any(_alive(pid) for pid in keepers) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [pid for pid in keepers if _alive(pid)] == []
    errors = stderr.read_text()
    assert "Traceback" not in errors
    assert "refreshing the derived caches failed" not in errors


def test_a_keeper_child_ends_when_its_worker_is_killed(tmp_path: Path, sqlite_url: str) -> None:
    """A worker killed outright (SIGKILL: no shutdown runs) leaves no keeper child running:
    the child sees its parent gone and ends; the restarted worker starts its own."""
    with _serve(tmp_path, sqlite_url) as (process, _):
        [keeper] = _wait_for_keepers(process.pid, 1)
        worker = _processes()[keeper][0]
        assert worker != process.pid
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(keeper) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(keeper)
        assert [k for k in _wait_for_keepers(process.pid, 1) if k != keeper]  # the new worker's
        process.terminate()
        assert process.wait(timeout=30) == 0
