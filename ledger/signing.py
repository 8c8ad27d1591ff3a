"""Ed25519 signer keys: generation, key ids, domain-separated signing, encrypted key files."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NewType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import SignatureError, SigningKeyError

KeyId = NewType("KeyId", str)
"""Lowercase hex SHA-256 of a key's raw 32-byte Ed25519 public key."""

ENTRY_DOMAIN = b"claims-ledger/entry/v1\n"
"""Prefix of every signed entry message, so an entry signature can never pass as anything else."""

KEY_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_KEY_FILE_SUFFIX = ".key.pem"


def key_id(public_key: bytes) -> KeyId:
    """The key id of a raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise SigningKeyError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    return KeyId(hashlib.sha256(public_key).hexdigest())


def check_key_name(name: str) -> str:
    if not KEY_NAME_PATTERN.match(name):
        raise SigningKeyError(
            f"key name {name!r} must match {KEY_NAME_PATTERN.pattern} (lowercase, digits, . _ -)"
        )
    return name


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A named private key and what derives from it."""

    name: str
    private: Ed25519PrivateKey
    public_key: bytes
    key_id: KeyId

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls.from_private(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private(cls, name: str, private: Ed25519PrivateKey) -> SigningKey:
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(name=check_key_name(name), private=private, public_key=raw, key_id=key_id(raw))

    def sign_message(self, message: bytes) -> bytes:
        """Sign ``message`` exactly (it must already carry its own domain prefix)."""
        return self.private.sign(message)

    def sign_entry(self, body: bytes) -> bytes:
        """Sign canonical entry body bytes under the entry domain prefix."""
        return self.private.sign(ENTRY_DOMAIN + body)

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode("ascii")


def verify_entry_signature(public_key: bytes, body: bytes, signature: bytes, *, where: str) -> None:
    """Raise ``SignatureError`` (naming ``where``) unless ``signature`` signs ``body``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, ENTRY_DOMAIN + body)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError(f"{where}: Ed25519 signature does not verify") from exc


def verify_signed_message(
    public_key: bytes, message: bytes, signature: bytes, *, where: str
) -> None:
    """Raise ``SignatureError`` (naming ``where``) unless ``signature`` signs ``message``
    exactly (the caller adds any domain prefix)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError(f"{where}: Ed25519 signature does not verify") from exc


def encode_private_key(key: SigningKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted with ``passphrase``; ``None`` means deliberately unencrypted."""
    encryption: serialization.KeySerializationEncryption
    if passphrase is None:
        encryption = serialization.NoEncryption()
    else:
        if not passphrase:
            raise SigningKeyError("key passphrase is empty")
        encryption = serialization.BestAvailableEncryption(passphrase)
    return key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def decode_private_key(name: str, pem: bytes, passphrase: bytes | None) -> SigningKey:
    """Load a PKCS#8 PEM key; an encrypted one needs ``passphrase``."""
    private = load_ed25519_pem(
        pem,
        passphrase,
        what=f"key {name!r}",
        missing="configured (LEDGER_KEY_PASSPHRASE or LEDGER_KEY_PASSPHRASE_FILE)",
        hint=" (wrong passphrase?)",
    )
    return SigningKey.from_private(name, private)


def load_ed25519_pem(
    pem: bytes, passphrase: bytes | None, *, what: str, missing: str = "set", hint: str = ""
) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM; an encrypted one needs ``passphrase``.
    ``what`` names the key in errors, ``missing`` ends "no passphrase is ...", ``hint``
    follows "cannot be loaded"."""
    encrypted = b"ENCRYPTED PRIVATE KEY" in pem
    if encrypted and passphrase is None:
        raise SigningKeyError(f"{what} is encrypted and no passphrase is {missing}")
    try:
        private = serialization.load_pem_private_key(pem, passphrase if encrypted else None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{what} cannot be loaded{hint}: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{what} is not an Ed25519 key")
    return private


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The directory of private key files, one ``<name>.key.pem`` each, mode 0600."""

    directory: Path
    passphrase: bytes | None

    def path(self, name: str) -> Path:
        return self.directory / f"{check_key_name(name)}{_KEY_FILE_SUFFIX}"

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            p.name.removesuffix(_KEY_FILE_SUFFIX)
            for p in self.directory.iterdir()
            if p.name.endswith(_KEY_FILE_SUFFIX)
        )

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def create(self, name: str, *, unencrypted: bool = False) -> SigningKey:
        """Generate and store a new key; refuses to overwrite an existing one."""
        key = SigningKey.generate(name)
        if not unencrypted and self.passphrase is None:
            raise SigningKeyError(
                "no key passphrase configured (LEDGER_KEY_PASSPHRASE or LEDGER_KEY_PASSPHRASE_FILE)"
            )
        pem = encode_private_key(key, None if unencrypted else self.passphrase)
        write_private_file(self.path(name), pem)
        return key

    def load(self, name: str) -> SigningKey:
        path = self.path(name)
        try:
            pem = path.read_bytes()
        except FileNotFoundError as exc:
            raise SigningKeyError(f"no key named {name!r} in {self.directory}") from exc
        return decode_private_key(name, pem, self.passphrase)

    def load_or_create(self, name: str) -> SigningKey:
        return self.load(name) if self.exists(name) else self.create(name)


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (never overwriting), written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # fails if path exists: never overwrite a key
    except FileExistsError as exc:
        raise SigningKeyError(f"{path} already exists; refusing to overwrite a key") from exc
    finally:
        tmp.unlink(missing_ok=True)
