"""What ``run`` and ``serve`` print before serving: where the API answers, where the
data and keys are, what was created just now, the key to pin, and how to stop.

Never a secret: the database URL's password is masked and the passphrase file is named,
never read out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledger.config import PASSPHRASE_FILE_NAME, Settings
from ledger.errors import NotFound
from ledger.service import Ledger

KEY_FILE_SUFFIX = ".key.pem"


@dataclass(frozen=True)
class KeyFiles:
    """The key files and passphrase file present at one moment (to tell, afterwards,
    which ones a command created)."""

    keys: frozenset[str]
    passphrase: bool

    @classmethod
    def look(cls, settings: Settings) -> KeyFiles:
        try:
            keys = frozenset(
                p.name for p in settings.keys_dir.iterdir() if p.name.endswith(KEY_FILE_SUFFIX)
            )
        except OSError:
            keys = frozenset()
        return cls(keys, passphrase_path(settings).is_file())


def passphrase_path(settings: Settings) -> Path:
    """The passphrase file keys are decrypted with (if no passphrase is set directly)."""
    return settings.passphrase_file or settings.keys_dir / PASSPHRASE_FILE_NAME


def redact(url: str) -> str:
    """A database URL without its password (``user:***@host``)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"


def api_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def banner(
    settings: Settings,
    ledger: Ledger,
    *,
    host: str,
    port: int,
    before: KeyFiles,
    workers: int = 1,
    access_log: bool = True,
) -> list[str]:
    """The lines to print before serving (``before``: the key files before the command
    opened the ledger)."""
    base = api_url(host, port)
    after = KeyFiles.look(settings)
    created = sorted(after.keys - before.keys)
    lines = [
        f"claims-ledger: serving log {settings.origin}",
        f"  API          {base}/graphql  (GraphiQL in a browser when introspection is on)",
        f"  also         {base}/checkpoint  {base}/events  {base}/metrics  {base}/healthz",
        f"  data         {redact(settings.database_url)}",
        f"  keys         {settings.keys_dir}"
        + (f"  (created just now: {', '.join(created)})" if created else ""),
        f"  passphrase   {_passphrase(settings, before, after)}",
        f"  verifier key {_verifier_key(ledger)}",
        f"  workers      {workers}; access log "
        + ("on standard output, one JSON line per request" if access_log else "off"),
        "Press Ctrl-C to stop.",
    ]
    return lines


def _passphrase(settings: Settings, before: KeyFiles, after: KeyFiles) -> str:
    if settings.unencrypted_keys:
        return "none: keys are stored unencrypted (LEDGER_UNENCRYPTED_KEYS)"
    if settings.passphrase is not None:
        return "from LEDGER_KEY_PASSPHRASE"
    path = passphrase_path(settings)
    if after.passphrase and not before.passphrase:
        return f"{path}  (created just now: back it up with the keys, keep it private)"
    if after.passphrase:
        return str(path)
    return f"{path}  (not created yet: made with the first keys)"


def _verifier_key(ledger: Ledger) -> str:
    try:
        return f"{ledger.log_verifier().key_text()}  (pin it to verify checkpoints)"
    except NotFound:
        return "none yet: the log is empty"
