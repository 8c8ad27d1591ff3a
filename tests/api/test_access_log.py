"""The access log over real HTTP: one JSON line per request (method, path, operation,
status, duration, bytes, client), nothing secret in it, client mistakes as that one line
and no traceback; forwarded headers believed only from LEDGER_TRUSTED_PROXIES."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from api.access_log import ACCESS_LOGGER, line
from api.app import create_app
from ledger.service import Ledger
from tests.api.server_process import running, wait_for_lines

SECRET = "s3cr3t-variable-value"


def _requests(url: str, token: str) -> list[tuple[str, str, str | None, int]]:
    """Send a mix of good requests and client mistakes; (method, path, operation,
    status) of each, in order."""
    sent = []
    auth = {"authorization": f"Bearer {token}"}
    r = httpx.post(
        f"{url}/graphql",
        json={"query": "query Head { checkpoint { size } }", "variables": {"x": SECRET}},
        headers=auth,
    )
    sent.append(("POST", "/graphql", "Head", r.status_code))
    r = httpx.post(
        f"{url}/graphql",
        json={
            "query": "query A { checkpoint { size } } query B { keys { name } }",
            "operationName": "B",
        },
    )
    sent.append(("POST", "/graphql", "B", r.status_code))
    r = httpx.post(
        f"{url}/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    sent.append(("POST", "/graphql", None, r.status_code))
    r = httpx.post(f"{url}/graphql", json={"query": "query Bad { nope }"})
    sent.append(("POST", "/graphql", "Bad", r.status_code))
    r = httpx.post(f"{url}/graphql", json={"query": '{ claim(id: "x") { statement } }'})
    sent.append(("POST", "/graphql", None, r.status_code))
    r = httpx.put(f"{url}/graphql", content=b"")
    sent.append(("PUT", "/graphql", None, r.status_code))
    r = httpx.post(f"{url}/graphql", content=b"q", headers={"content-type": "text/plain"})
    sent.append(("POST", "/graphql", None, r.status_code))
    r = httpx.get(f"{url}/no-such-page?token={SECRET}")
    sent.append(("GET", "/no-such-page", None, r.status_code))
    r = httpx.get(f"{url}/checkpoint")
    sent.append(("GET", "/checkpoint", None, r.status_code))
    return sent


def test_one_line_per_request_and_no_traceback(db_url: str, tmp_path: Path) -> None:
    with running(tmp_path / "home", db_url) as server:
        ready = len(wait_for_lines(server, 1))  # the start-up probes of /healthz
        sent = _requests(server.url, server.token)
        lines = wait_for_lines(server, ready + len(sent))[ready:]
        server.stop()
        stderr = server.stderr.read_text()
        raw = server.stdout.read_text()
    assert [s for *_, s in sent] == [200, 200, 400, 200, 200, 405, 415, 404, 200]
    assert len(lines) == len(sent)
    for (method, path, operation, status), logged in zip(sent, lines, strict=True):
        assert list(logged)[:8] == [
            "time",
            "method",
            "path",
            "operation",
            "status",
            "duration_ms",
            "bytes",
            "client",
        ]
        assert (logged["method"], logged["path"], logged["operation"], logged["status"]) == (
            method,
            path,
            operation,
            status,
        )
        assert logged["client"] == "127.0.0.1"
        assert logged["duration_ms"] >= 0 and logged["bytes"] > 0
        assert logged["time"].endswith("Z")
    # GraphQL errors are named by their codes; nothing of the request's content is logged.
    assert lines[3]["errors"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert lines[4]["errors"] == ["BAD_USER_INPUT"]
    assert SECRET not in raw and server.token not in raw and "checkpoint { size }" not in raw
    assert "Traceback" not in stderr, stderr


def test_access_log_can_be_turned_off(db_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running(home, db_url, env={"LEDGER_API_ACCESS_LOG": "false"}) as server:
        httpx.get(f"{server.url}/checkpoint")
        server.stop()
        assert server.access_lines() == []
        assert "access log off" in server.stdout.read_text()
    with running(home, db_url, "--no-access-log") as server:
        httpx.get(f"{server.url}/checkpoint")
        server.stop()
        assert server.access_lines() == []


def test_forged_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    db_url: str, tmp_path: Path
) -> None:
    forged = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
    home = tmp_path / "home"
    with running(home, db_url) as server:
        ready = len(wait_for_lines(server, 1))
        httpx.get(f"{server.url}/checkpoint", headers=forged)
        [logged] = wait_for_lines(server, ready + 1)[ready:]
    assert logged["client"] == "127.0.0.1"
    with running(home, db_url, env={"LEDGER_TRUSTED_PROXIES": "127.0.0.1"}) as server:
        ready = len(wait_for_lines(server, 1))
        httpx.get(f"{server.url}/checkpoint", headers=forged)
        [logged] = wait_for_lines(server, ready + 1)[ready:]
    assert logged["client"] == "203.0.113.7"


RETRACT = 'mutation { retractClaim(claimId: "x", follows: "y", reason: "z") { __typename } }'


def test_rate_limit_counts_the_peer_not_a_forged_forwarded_for(db_url: str, tmp_path: Path) -> None:
    """Before LEDGER_TRUSTED_PROXIES, uvicorn believed X-Forwarded-For from 127.0.0.1:
    a client there could take a fresh per-client budget with each forged address."""
    env = {"LEDGER_API_CLIENT_MUTATION_RATE": "2/minute", "LEDGER_API_MUTATION_RATE": "off"}
    with running(tmp_path / "home", db_url, env=env) as server:
        statuses = [
            httpx.post(
                f"{server.url}/graphql",
                json={"query": RETRACT},
                headers={"x-forwarded-for": f"198.51.100.{n}"},
            ).status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 429]


def test_line_is_json_whatever_the_path_holds() -> None:
    text = line(
        method="GET",
        path='/x"\n\u2028\\',
        operation=None,
        status=404,
        seconds=0.0012345,
        size=10,
        client=None,
        now=0.0,
    )
    assert "\n" not in text
    record = json.loads(text)
    assert record["path"] == '/x"\n\u2028\\'
    assert record["time"] == "1970-01-01T00:00:00.000Z"
    assert record["duration_ms"] == 1.23


def test_unexpected_failure_keeps_its_traceback_in_the_error_log(
    caplog: pytest.LogCaptureFixture, ledger: Ledger
) -> None:
    """A failure that is not the client's: the client sees only INTERNAL_SERVER_ERROR,
    the error log has the traceback, the access log its one line."""

    def broken(size: int | None = None) -> object:
        raise RuntimeError("disk on fire")

    ledger.checkpoint = broken  # type: ignore[method-assign]
    caplog.set_level(logging.INFO)
    with TestClient(create_app(ledger)) as client:
        response = client.post("/graphql", json={"query": "query Cp { checkpoint { size } }"})
    assert "disk on fire" not in response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [(a["operation"], a["errors"]) for a in access] == [("Cp", ["INTERNAL_SERVER_ERROR"])]
    [logged] = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert logged.exc_info is not None and "disk on fire" in str(logged.exc_info[1])


def test_refusals_before_the_graphql_view_are_logged_once(
    caplog: pytest.LogCaptureFixture, ledger: Ledger
) -> None:
    """A body over the size limit (413) never reaches the view; its line is still there."""
    caplog.set_level(logging.INFO)
    with TestClient(create_app(ledger)) as client:
        response = client.post(
            "/graphql",
            content=b"x" * (2 * 1024 * 1024 + 1),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    [record] = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    logged = json.loads(record.getMessage())
    assert (logged["status"], logged["path"], logged["operation"]) == (413, "/graphql", None)
    assert not any(r.exc_info for r in caplog.records)
