"""Settings, read from ``LEDGER_*`` environment variables when asked for (never at import)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import ConfigError, SigningKeyError
from ledger.signing import KEY_NAME_PATTERN, write_private_file

if TYPE_CHECKING:  # ledger.cosigning pulls in the store and httpx: imported when used
    from ledger.cosigning import WitnessSettings

DEFAULT_ORIGIN = "claims-ledger/local"
DEFAULT_WRITER_KEY = "ingest"
_ORIGIN_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
PASSPHRASE_FILE_NAME = "passphrase"
DEFAULT_API_TIMEOUT = 10.0
"""Seconds an API request may take (LEDGER_API_TIMEOUT)."""
DEFAULT_API_HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's line and headers (LEDGER_API_HEADER_TIMEOUT)."""
DEFAULT_API_BODY_TIMEOUT = 30.0
"""Seconds a client has to send a request's body (LEDGER_API_BODY_TIMEOUT)."""
DEFAULT_API_MAX_CONNECTIONS = 1000
"""Open connections per worker before new requests get 503 (LEDGER_API_MAX_CONNECTIONS)."""
DEFAULT_API_MUTATION_RATE = "30/minute"
"""Mutations per bearer token (LEDGER_API_MUTATION_RATE)."""
DEFAULT_API_CLIENT_MUTATION_RATE = "60/minute"
"""Mutations per client address (LEDGER_API_CLIENT_MUTATION_RATE)."""
_WEB_ORIGIN = re.compile(
    r"^(https?)://([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::([0-9]{1,5}))?$"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_RATE_PATTERN = re.compile(
    r"^\s*[1-9][0-9]{0,8}\s*(/|per)\s*([1-9][0-9]{0,5}\s+)?(second|minute|hour|day)s?\s*$",
    re.IGNORECASE,
)


def _load_witnesses(path: Path) -> WitnessSettings:
    from ledger.cosigning import WitnessSettings

    return WitnessSettings.load(path)


def default_home(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/claims-ledger``, or ``~/.local/share/claims-ledger``."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "claims-ledger"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where the ledger lives and how it signs.

    ``passphrase_file`` is consulted only when ``passphrase`` is unset; the default
    one inside ``home/keys`` is created with the first keys so a fresh machine needs no
    set-up (never beside keys that already exist).
    """

    home: Path
    database_url: str
    origin: str = DEFAULT_ORIGIN
    passphrase: bytes | None = field(default=None, repr=False)
    passphrase_file: Path | None = None
    unencrypted_keys: bool = False
    api_introspection: bool = True
    """GraphQL introspection and GraphiQL (LEDGER_API_INTROSPECTION; off under
    LEDGER_API_PRODUCTION unless set)."""
    api_timeout: float = DEFAULT_API_TIMEOUT
    """Seconds an API request may run before it is stopped (LEDGER_API_TIMEOUT)."""
    api_header_timeout: float = DEFAULT_API_HEADER_TIMEOUT
    """Seconds from a connection's start (or its previous response) to the end of the
    request's headers before it is closed (LEDGER_API_HEADER_TIMEOUT)."""
    api_body_timeout: float = DEFAULT_API_BODY_TIMEOUT
    """Seconds to receive a request's body before it gets 408 (LEDGER_API_BODY_TIMEOUT)."""
    api_max_connections: int = DEFAULT_API_MAX_CONNECTIONS
    """Open connections (or requests running) per worker past which new requests get 503
    (LEDGER_API_MAX_CONNECTIONS)."""
    api_mutation_rate: str | None = DEFAULT_API_MUTATION_RATE
    """Mutations allowed per bearer token, e.g. ``30/minute``; None: unlimited
    (LEDGER_API_MUTATION_RATE, ``off`` turns it off)."""
    api_client_mutation_rate: str | None = DEFAULT_API_CLIENT_MUTATION_RATE
    """Mutations allowed per client address (LEDGER_API_CLIENT_MUTATION_RATE)."""
    witnesses: WitnessSettings | None = None
    """The witnesses the log asks for cosignatures, and the quorum (LEDGER_WITNESSES, a
    TOML file; None: no witnesses, checkpoints are signed by the log alone)."""
    api_cors_origins: tuple[str, ...] = ()
    """Web origins (``https://host[:port]``) whose pages may call the API from a browser
    (LEDGER_API_CORS_ORIGINS, comma-separated; none by default)."""
    log_key_name: str = "log"
    writer_key_name: str = DEFAULT_WRITER_KEY
    """The key `ingest`, `reextract` and `run` sign with, created and registered (writer)
    on first use (LEDGER_WRITER_KEY; changing it is how that key is rotated)."""

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = (
            Path(env["LEDGER_HOME"]).expanduser() if env.get("LEDGER_HOME") else default_home(env)
        )
        url = env.get("LEDGER_DATABASE_URL") or f"sqlite:///{home / 'ledger.sqlite3'}"
        origin = env.get("LEDGER_ORIGIN", DEFAULT_ORIGIN)
        if not _ORIGIN_PATTERN.match(origin):
            raise ConfigError(f"LEDGER_ORIGIN {origin!r} must be 1-255 printable ASCII, no spaces")
        production = env_flag(env, "LEDGER_API_PRODUCTION")
        passphrase = env.get("LEDGER_KEY_PASSPHRASE")
        file = env.get("LEDGER_KEY_PASSPHRASE_FILE")
        witnesses = env.get("LEDGER_WITNESSES", "").strip()
        return cls(
            home=home,
            database_url=normalize_database_url(url),
            origin=origin,
            passphrase=passphrase.encode("utf-8") if passphrase else None,
            passphrase_file=Path(file).expanduser() if file else None,
            unencrypted_keys=env_flag(env, "LEDGER_UNENCRYPTED_KEYS"),
            writer_key_name=writer_key_setting(env),
            witnesses=_load_witnesses(Path(witnesses).expanduser()) if witnesses else None,
            api_introspection=env_flag(env, "LEDGER_API_INTROSPECTION", default=not production),
            api_timeout=seconds_setting(env, "LEDGER_API_TIMEOUT", DEFAULT_API_TIMEOUT),
            api_header_timeout=seconds_setting(
                env, "LEDGER_API_HEADER_TIMEOUT", DEFAULT_API_HEADER_TIMEOUT
            ),
            api_body_timeout=seconds_setting(
                env, "LEDGER_API_BODY_TIMEOUT", DEFAULT_API_BODY_TIMEOUT
            ),
            api_max_connections=count_setting(
                env, "LEDGER_API_MAX_CONNECTIONS", DEFAULT_API_MAX_CONNECTIONS
            ),
            api_mutation_rate=rate_setting(
                env, "LEDGER_API_MUTATION_RATE", DEFAULT_API_MUTATION_RATE
            ),
            api_client_mutation_rate=rate_setting(
                env, "LEDGER_API_CLIENT_MUTATION_RATE", DEFAULT_API_CLIENT_MUTATION_RATE
            ),
            api_cors_origins=origins_setting(env, "LEDGER_API_CORS_ORIGINS"),
        )

    def key_passphrase(self) -> bytes | None:
        """The passphrase for key files, asked for only when a key is loaded or created.

        The default passphrase file is created only together with the first keys (a keys
        folder holding no key file): next to existing keys nothing is ever written, and a
        missing passphrase is an error naming the settings that provide one.
        """
        if self.unencrypted_keys:
            return None
        if self.passphrase is not None:
            return self.passphrase
        path = self.passphrase_file or self.keys_dir / PASSPHRASE_FILE_NAME
        if self.passphrase_file is None and not _exists(path):
            if _holds_key_files(self.keys_dir):
                raise ConfigError(
                    f"the keys in {self.keys_dir} are encrypted and no passphrase is "
                    "configured: set LEDGER_KEY_PASSPHRASE or LEDGER_KEY_PASSPHRASE_FILE"
                )
            with contextlib.suppress(SigningKeyError):  # or another process did first
                write_private_file(path, secrets.token_urlsafe(32).encode("ascii") + b"\n")
        try:
            value = path.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"LEDGER_KEY_PASSPHRASE_FILE {path} cannot be read: {exc}") from exc
        if not value:
            raise ConfigError(f"passphrase file {path} is empty")
        return value


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:
        raise ConfigError(f"{path.parent} cannot be read: {exc.strerror}") from exc


def _holds_key_files(folder: Path) -> bool:
    """Whether ``folder`` holds a key file (True if it cannot be listed: assume it does)."""
    try:
        return any(p.name.endswith(".key.pem") for p in folder.iterdir())
    except FileNotFoundError:
        return False
    except OSError:
        return True


def normalize_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    if url.startswith(("sqlite:", "postgresql+psycopg:")):
        return url
    raise ConfigError(
        f"LEDGER_DATABASE_URL {url!r}: only sqlite:/// and postgresql:// are supported"
    )


def env_flag(env: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    value = env.get(name, "").strip().lower()
    if value == "":
        return default
    if value in ("0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def seconds_setting(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive, finite number of seconds."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def count_setting(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number."""
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def rate_setting(env: Mapping[str, str], name: str, default: str) -> str | None:
    """A rate such as ``30/minute``, ``100 per hour`` or ``5 per 10 seconds``;
    ``off`` (or ``0``, ``none``) turns the limit off (None)."""
    value = env.get(name, "").strip()
    if not value:
        return default
    if value.lower() in ("off", "0", "none"):
        return None
    if not _RATE_PATTERN.match(value):
        raise ConfigError(
            f"{name} must be a rate such as 30/minute or '5 per 10 seconds', or off; got {value!r}"
        )
    return value


def origins_setting(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated web origins (``scheme://host[:port]``, http or https), each as a
    browser sends it in ``Origin``: lower case, without a default port or a trailing
    slash. Empty: none. ``*`` and anything with a path, query or user are refused."""
    origins: list[str] = []
    for item in env.get(name, "").split(","):
        raw = item.strip()
        if not raw:
            continue
        match = _WEB_ORIGIN.match(raw.lower().rstrip("/"))
        port = match.group(3) if match else None
        if match is None or (port is not None and not 0 < int(port) < 65536):
            raise ConfigError(
                f"{name} must list origins such as https://factcheck.example or "
                f"http://localhost:3000, separated by commas; got {raw!r}"
            )
        scheme, host = match.group(1), match.group(2)
        origin = f"{scheme}://{host}"
        if port is not None and port.lstrip("0") != _DEFAULT_PORTS[scheme]:
            origin += f":{int(port)}"
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def writer_key_setting(env: Mapping[str, str]) -> str:
    """LEDGER_WRITER_KEY: the name of the key ingestion signs with (default ``ingest``)."""
    name = env.get("LEDGER_WRITER_KEY", "").strip() or DEFAULT_WRITER_KEY
    if not KEY_NAME_PATTERN.match(name) or name == "log":
        raise ConfigError(
            f"LEDGER_WRITER_KEY {name!r} must be a key name ({KEY_NAME_PATTERN.pattern}) "
            "other than log"
        )
    return name
