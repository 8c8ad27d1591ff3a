"""Opening the ledger a set of settings names: database, schema, keys and genesis, on first use.

Reading needs no private key. ``open_instance(settings, lazy_keys=True)`` (the command line
and the API) decrypts keys only when something is signed: reading, listing, verifying and
serving queries work without a passphrase and without key files.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field

from ledger import rules
from ledger.config import Settings
from ledger.cosigning import CosigningWorker
from ledger.entries import SignedEntry
from ledger.errors import Duplicate, SigningKeyError, SigningNotConfigured
from ledger.extract.model import Extractor
from ledger.extract.registry import default_name, load_extractor
from ledger.keeper import DerivedKeeper
from ledger.private import private_directory
from ledger.rules import KeyState
from ledger.service import Ledger
from ledger.signing import KeyRing, SigningKey, check_key_name
from ledger.state import key_named
from ledger.store import Store


@dataclass(frozen=True)
class Rotation:
    """A log-key rotation done: the ``log.key.rotated`` entry, the old and the new key."""

    entry: SignedEntry
    old: SigningKey
    new: SigningKey

    @property
    def last_old_checkpoint(self) -> int:
        """The tree size of the last checkpoint the old key signs (the one over the entry)."""
        return self.entry.seq + 1


def next_log_key_name(keys: list[KeyState]) -> str:
    """``log-N`` for the N-th log key (entry 0's is the first), skipping names taken."""
    count = sum(1 for k in keys if rules.is_log_key(k))
    names = {k.name for k in keys}
    n = count + 1
    while f"log-{n}" in names:
        n += 1
    return f"log-{n}"


class Signers:
    """The local key files, decrypted only when something is signed.

    Loading any key for signing loads the log key first: every append ends with a
    checkpoint the log key signs. The passphrase is read on first need, never at open.
    """

    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self.settings = settings
        self.ledger = ledger
        self._keyring: KeyRing | None = None
        self._writer: SigningKey | None = None
        self._lock = threading.Lock()
        ledger.load_log_key = self.load_log_key

    def log_key_name(self) -> str:
        """The name of the log key's file: the log key's registered name once a rotation
        registered it; before that, ``LEDGER_LOG_KEY``'s (default ``log``)."""
        current = rules.current_log_key(self.ledger.store.all_keys())
        if current is None or current.registered_seq == 0:
            return self.settings.log_key_name
        return current.name

    def load_log_key(self, key: KeyState) -> SigningKey:
        """The local file of log key ``key`` (a rotation another process appended)."""
        name = self.settings.log_key_name if key.registered_seq == 0 else key.name
        return self.keyring.load(name)

    @property
    def keyring(self) -> KeyRing:
        """The key files with the passphrase that decrypts them (read here, on first use)."""
        if self._keyring is None:
            self._keyring = KeyRing(self.settings.keys_dir, self.settings.key_passphrase())
        return self._keyring

    def names(self) -> list[str]:
        """Names of the local key files, read without a passphrase (``OSError`` if the
        keys folder cannot be read)."""
        return KeyRing(self.settings.keys_dir, None).names()

    def exists(self, name: str) -> bool:
        """Whether a key file ``name`` is here; False if the keys folder cannot be read."""
        try:
            return KeyRing(self.settings.keys_dir, None).exists(name)
        except OSError:
            return False

    def load(self, name: str) -> SigningKey:
        """Key ``name``, to sign with (the log key is loaded with it)."""
        self.log_key()
        return self.keyring.load(name)

    def create(self, name: str, *, unencrypted: bool = False) -> SigningKey:
        return self.keyring.create(name, unencrypted=unencrypted)

    def log_key(self) -> SigningKey:
        """The log key, loaded and checked against entry 0 on first use; on an empty log,
        created with the writer key and genesis."""
        with self._lock:
            if self.ledger.log_key is not None:
                return self.ledger.log_key
            if self.ledger.store.entry_by_seq(0) is None:
                self._bootstrap()
            else:
                name = self.log_key_name()
                if not self.exists(name):
                    first = self.ledger.store.entry_by_seq(0)
                    began = first.signer if first is not None else "?"
                    raise SigningNotConfigured(
                        f"signing is not configured: no log key file in {self.settings.keys_dir}"
                        f", and only the key that began this log ({began}) signs its "
                        "checkpoints; point LEDGER_HOME at that key's folder (reading needs "
                        "no key)"
                    )
                self.ledger.log_key = self.keyring.load(name)
                try:
                    self.ledger.check_log_key()
                except BaseException:
                    self.ledger.log_key = None
                    raise
            assert self.ledger.log_key is not None
            return self.ledger.log_key

    def writer_key(self) -> SigningKey:
        """The key ingestion signs with: created and registered (writer) if missing."""
        log = self.log_key()
        with self._lock:
            if self._writer is None:
                plain = self.settings.unencrypted_keys
                writer = _load_or_create(
                    self.keyring, self.settings.writer_key_name, unencrypted=plain
                )
                self.ledger.ensure_key(log, writer, ("writer",))
                self._writer = writer
            return self._writer

    def _bootstrap(self) -> None:
        """First use: create (or load) the log and writer keys, write genesis."""
        plain = self.settings.unencrypted_keys
        log = _load_or_create(self.keyring, self.settings.log_key_name, unencrypted=plain)
        writer = _load_or_create(self.keyring, self.settings.writer_key_name, unencrypted=plain)
        self.ledger.log_key = log
        try:
            self.ledger.ensure_genesis(log)
            self.ledger.check_log_key()
            self.ledger.ensure_key(log, writer, ("writer",))
        except BaseException:
            self.ledger.log_key = None
            raise
        self._writer = writer


@dataclass
class Instance:
    """An open ledger with the settings and local keys that opened it."""

    settings: Settings
    ledger: Ledger
    signers: Signers = field(init=False)
    cosigning: CosigningWorker | None = None
    """Asks the configured witnesses to cosign each new checkpoint (None: no witnesses)."""
    keeper: DerivedKeeper | None = None
    """Keeps the derived caches after appends (an API worker's; None: none); stopped, its
    child process ended and waited for, when the instance closes."""

    def __post_init__(self) -> None:
        self.signers = Signers(self.settings, self.ledger)

    @property
    def keyring(self) -> KeyRing:
        """The local key files, decrypting with the configured passphrase."""
        return self.signers.keyring

    def key_files(self) -> list[str]:
        """Names of the local key files, read without a passphrase."""
        return self.signers.names()

    def log_key(self) -> SigningKey:
        return self.signers.log_key()

    def writer_key(self) -> SigningKey:
        return self.signers.writer_key()

    def signing_key(self, name: str) -> SigningKey:
        """Local key ``name``, ready to sign an append (the log key loaded too)."""
        return self.signers.load(name)

    def rotate_log_key(
        self, reason: str, *, name: str | None = None, unencrypted: bool = False
    ) -> Rotation:
        """Hand the log over to a new log key (decision 0022): create its key file (under
        the passphrase rules of every key), append the ``log.key.rotated`` entry the current
        log key signs and the new one accepts, and sign every later checkpoint with it.
        Refused, with nothing left behind, when the name is taken, its key file exists, or
        this instance does not hold the current log key."""
        keys = self.ledger.list_keys()
        name = check_key_name(name if name is not None else next_log_key_name(keys))
        taken = key_named(keys, name)
        if taken is not None:
            raise Duplicate(
                f"key name {name!r} is already registered (key {taken.key_id}, entry "
                f"{taken.registered_seq}); a key name is registered once and never reused: "
                "give another with --name"
            )
        if self.signers.exists(name):
            raise SigningKeyError(
                f"a key file {name!r} already exists in {self.settings.keys_dir}; "
                "give another name with --name"
            )
        old = self.log_key()  # the current log key, before any file is written
        new = self.keyring.create(name, unencrypted=unencrypted)
        try:
            entry = self.ledger.rotate_log_key(new, reason)
        except BaseException:
            self.keyring.path(name).unlink(missing_ok=True)  # refused: nothing left behind
            raise
        return Rotation(entry, old, new)

    def extractor(self) -> Extractor:
        """The extractor ingestion uses: ``LEDGER_EXTRACTOR`` (default: the deterministic rules)."""
        return load_extractor(default_name())

    def close(self) -> None:
        """Close the store. With witnesses, first give requests still pending up to one
        request timeout to finish: a one-shot command asks in the background while it
        works and waits this long at the end; what is left is asked after the next append
        (or by ``claims-ledger witness ask``). A keeper is stopped first: no child of it
        holds a connection once this returns."""
        self.stop_keeper()
        if self.cosigning is not None:
            self.cosigning.wait_idle(self.cosigning.settings.timeout)
            self.cosigning.stop()
            self.cosigning = None
        self.ledger.store.close()

    def stop_keeper(self) -> None:
        """Stop the derived keeper, if any, and wait for its child process to end."""
        keeper, self.keeper = self.keeper, None
        if keeper is not None:
            keeper.stop()


def open_instance(
    settings: Settings, *, bootstrap: bool = True, lazy_keys: bool = False
) -> Instance:
    """Open (creating on first use) the ledger: migrate, create keys, write genesis.

    ``lazy_keys``: on a log that already has entries, touch no key (nor passphrase) until
    something is signed; an empty log is still given keys and genesis at once.
    ``bootstrap=False``: never create anything; load the log key only if its file exists.

    Non-interactive and safe to run from several processes at once: key files are
    created exclusively and genesis is written under the append lock.
    """
    private_directory(settings.home)  # 0700: the database and keys live here
    store = Store.open(settings.database_url)
    ledger = Ledger(store, settings.origin)
    instance = Instance(settings, ledger)
    if settings.witnesses is not None:
        instance.cosigning = CosigningWorker(ledger, settings.witnesses).start()
        ledger.on_checkpoint = instance.cosigning.notify
    try:
        ledger.check_origin()
        if bootstrap:
            if not lazy_keys or store.entry_by_seq(0) is None:
                instance.writer_key()  # the log key, the writer key, genesis
        elif instance.signers.exists(instance.signers.log_key_name()):
            ledger.log_key = instance.keyring.load(instance.signers.log_key_name())
    except BaseException:
        instance.close()
        raise
    return instance


def _load_or_create(keyring: KeyRing, name: str, *, unencrypted: bool) -> SigningKey:
    if keyring.exists(name):
        return keyring.load(name)
    try:
        return keyring.create(name, unencrypted=unencrypted)
    except SigningKeyError:
        if keyring.exists(name):  # another process created it first
            return keyring.load(name)
        raise


GC_THRESHOLDS = (10_000, 3, 10)
"""The collector's thresholds in a serve worker (Python's default: 700, 10, 10)."""


def settle_start_up() -> None:
    """Collect the start-up's garbage, then move every object left (modules, the schema,
    the app: ~180,000 of them) out of the collector's sight (``gc.freeze``): they live as
    long as the worker, and a full collection would otherwise walk them all, holding the
    interpreter lock (~40-100 ms of CPU, measured) while /healthz and every request wait
    (docs/benchmarks.md, issue 13). Objects are still freed when unreferenced.

    Then ``GC_THRESHOLDS``: the youngest generation is collected every 10,000
    allocations, not 700, since a request makes thousands of objects, which at 700 move to
    the older generations while still in use and die there; that growth is what makes a
    full collection due, and a full collection still walks SQLAlchemy's cache of compiled
    statements (~100,000 objects once the filters have run: 100-300 ms on a busy host,
    the single slow runs of ``benchmarks/filters.py``; decision 0038). The middle one
    every 3 of those, not 10, so that it walks at most ~30,000 survivors (while that cache
    fills, 35 ms on a busy host instead of 100). A serve worker calls this once started
    (``api.serve``); benchmarks that time in process call it too."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
