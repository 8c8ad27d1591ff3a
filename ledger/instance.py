"""Opening the ledger a set of settings names: database, schema, keys and genesis, on first use.

Reading needs no private key. ``open_instance(settings, lazy_keys=True)`` (the command line
and the API) decrypts keys only when something is signed: reading, listing, verifying and
serving queries work without a passphrase and without key files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ledger.config import Settings
from ledger.cosigning import CosigningWorker
from ledger.errors import SigningKeyError, SigningNotConfigured
from ledger.extract.model import Extractor
from ledger.extract.registry import default_name, load_extractor
from ledger.private import private_directory
from ledger.service import Ledger
from ledger.signing import KeyRing, SigningKey
from ledger.store import Store


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
                name = self.settings.log_key_name
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

    def extractor(self) -> Extractor:
        """The extractor ingestion uses: ``LEDGER_EXTRACTOR`` (default: the deterministic rules)."""
        return load_extractor(default_name())

    def close(self) -> None:
        """Close the store. With witnesses, first give requests still pending up to one
        request timeout to finish: a one-shot command asks in the background while it
        works and waits this long at the end; what is left is asked after the next append
        (or by ``claims-ledger witness ask``)."""
        if self.cosigning is not None:
            self.cosigning.wait_idle(self.cosigning.settings.timeout)
            self.cosigning.stop()
            self.cosigning = None
        self.ledger.store.close()


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
        elif instance.signers.exists(settings.log_key_name):
            ledger.log_key = instance.keyring.load(settings.log_key_name)
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
