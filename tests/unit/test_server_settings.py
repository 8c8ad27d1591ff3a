"""The server's own settings (api.server_settings): defaults, parsing, clear refusals."""

from __future__ import annotations

import pytest

from api.server_settings import ServerSettings, proxies_setting
from ledger.errors import ConfigError


def test_defaults() -> None:
    settings = ServerSettings.from_env({})
    assert settings == ServerSettings()
    assert settings.access_log and settings.metrics and settings.trusted_proxies == ()


def test_values_are_read() -> None:
    settings = ServerSettings.from_env(
        {
            "LEDGER_API_ACCESS_LOG": "false",
            "LEDGER_API_METRICS": "0",
            "LEDGER_TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8 ,::1,127.0.0.1",
            "LEDGER_API_APQ_CACHE_SIZE": "5",
            "LEDGER_API_EVENT_STREAMS": "2",
            "LEDGER_API_EVENT_POLL": "0.1",
            "LEDGER_API_EVENT_HEARTBEAT": "3",
        }
    )
    assert not settings.access_log and not settings.metrics
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert (settings.apq_cache_size, settings.event_streams) == (5, 2)
    assert (settings.event_poll, settings.event_heartbeat) == (0.1, 3.0)
    assert proxies_setting({"P": "*"}, "P") == ("*",)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEDGER_TRUSTED_PROXIES", "proxy.example"),
        ("LEDGER_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("LEDGER_API_ACCESS_LOG", "maybe"),
        ("LEDGER_API_APQ_CACHE_SIZE", "0"),
        ("LEDGER_API_EVENT_STREAMS", "-1"),
        ("LEDGER_API_EVENT_POLL", "never"),
        ("LEDGER_PUBLIC_URL", "javascript:alert(1)"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        ServerSettings.from_env({name: value})


def test_every_setting_is_documented_in_the_api_guide() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    source = (root / "api" / "server_settings.py").read_text()
    guide = (root / "docs" / "api.md").read_text()
    table = guide[guide.index("## Server settings") :]
    names = set(re.findall(r'"(LEDGER_[A-Z_]+)"', source))
    assert len(names) == 9
    assert all(f"`{name}`" in table for name in names), names
