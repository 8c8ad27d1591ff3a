"""Find and build claim extractors by name (entry-point group ``claims_ledger.extractors``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from ledger.errors import ConfigError
from ledger.extract.model import Extractor

GROUP = "claims_ledger.extractors"
DEFAULT_EXTRACTOR = "rules"
_PROTOCOL_ATTRIBUTES = ("name", "version", "rules_sha256", "extract")


def available() -> dict[str, EntryPoint]:
    """The installed extractors by name, sorted by name."""
    found = {point.name: point for point in entry_points(group=GROUP)}
    return dict(sorted(found.items()))


def default_name(env: Mapping[str, str] | None = None) -> str:
    """The extractor named by ``LEDGER_EXTRACTOR`` (default ``"rules"``)."""
    env = os.environ if env is None else env
    return env.get("LEDGER_EXTRACTOR", "").strip() or DEFAULT_EXTRACTOR


def load_extractor(name: str, env: Mapping[str, str] | None = None) -> Extractor:
    """Build the extractor ``name``, through its ``from_env(env)`` classmethod when it has one."""
    env = os.environ if env is None else env
    points = available()
    if name not in points:
        names = ", ".join(points) or "none installed"
        raise ConfigError(f"LEDGER_EXTRACTOR {name!r} is not an installed extractor ({names})")
    factory = _load(points[name])
    from_env = getattr(factory, "from_env", None)
    extractor = from_env(env) if callable(from_env) else factory()
    missing = [attr for attr in _PROTOCOL_ATTRIBUTES if not hasattr(extractor, attr)]
    if missing:
        raise ConfigError(f"extractor {name!r} ({points[name].value}) lacks {', '.join(missing)}")
    # The protocol is not runtime-checkable; the attribute check above is what can be checked.
    return cast(Extractor, extractor)


def _load(point: EntryPoint) -> Callable[..., object]:
    """The class an entry point names; an import failure is a configuration problem."""
    try:
        factory: object = point.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"extractor {point.name!r} ({point.value}) cannot be loaded: {exc}"
        ) from exc
    if not callable(factory):
        raise ConfigError(f"extractor {point.name!r} ({point.value}) is not a class")
    return factory
