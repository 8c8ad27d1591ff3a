"""Opening the ledger a set of settings names: database, schema, keys and genesis, on first use."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.config import Settings
from ledger.cosigning import CosigningWorker
from ledger.errors import SigningKeyError
from ledger.extract.model import Extractor
from ledger.extract.registry import default_name, load_extractor
from ledger.private import private_directory
from ledger.service import Ledger
from ledger.signing import KeyRing, SigningKey
from ledger.store import Store


@dataclass
class Instance:
    """An open ledger with the settings and local keys that opened it."""

    settings: Settings
    ledger: Ledger
    keyring: KeyRing
    cosigning: CosigningWorker | None = None
    """Asks the configured witnesses to cosign each new checkpoint (None: no witnesses)."""

    def log_key(self) -> SigningKey:
        return self.keyring.load(self.settings.log_key_name)

    def writer_key(self) -> SigningKey:
        return self.keyring.load(self.settings.writer_key_name)

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


def open_instance(settings: Settings, *, bootstrap: bool = True) -> Instance:
    """Open (creating on first use) the ledger: migrate, create keys, write genesis.

    Non-interactive and safe to run from several processes at once: key files are
    created exclusively and genesis is written under the append lock.
    """
    private_directory(settings.home)  # 0700: the database and keys live here
    store = Store.open(settings.database_url)
    keyring = KeyRing(settings.keys_dir, settings.key_passphrase())
    ledger = Ledger(store, settings.origin)
    instance = Instance(settings, ledger, keyring)
    if settings.witnesses is not None:
        instance.cosigning = CosigningWorker(ledger, settings.witnesses).start()
        ledger.on_checkpoint = instance.cosigning.notify
    try:
        ledger.check_origin()
        if bootstrap:
            plain = settings.unencrypted_keys
            ledger.log_key = _load_or_create(keyring, settings.log_key_name, unencrypted=plain)
            writer = _load_or_create(keyring, settings.writer_key_name, unencrypted=plain)
            ledger.ensure_genesis(ledger.log_key)
            ledger.check_log_key()
            ledger.ensure_key(ledger.log_key, writer, ("writer",))
        elif keyring.exists(settings.log_key_name):
            ledger.log_key = keyring.load(settings.log_key_name)
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
