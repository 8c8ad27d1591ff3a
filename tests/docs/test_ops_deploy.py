"""docs/operations.md, "Running as a service", "Running in a container" and "Behind a
reverse proxy": the files in deploy/ and the Containerfile, each run here as far as this
machine allows.

- deploy/claims-ledger.service: ``systemd-analyze verify`` and ``security`` (when
  systemd-analyze is installed) and its ExecStart line, run with its Environment lines,
  serves and stops on its KillSignal within TimeoutStopSec;
- Containerfile: built when a container engine answers (``docker info``), else skipped
  with the reason; always checked against the project (what it copies is what the wheel
  packages) and its entry script run: deploy/entrypoint.sh, with the image's environment
  in a temporary folder, serves the API with the passphrase taken from a secret file;
- deploy/nginx/claims-ledger.conf (when nginx is installed): TLS in front of a served
  ledger, and the forwarded client address is the one the API's per-client limit counts,
  which a client cannot choose.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.api.conftest import launch
from tests.helpers import ROOT, run_cli
from tests.liveness import wait_until_healthy

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "claims-ledger.service"
SHIPPED_BINARY = "/opt/claims-ledger/bin/claims-ledger"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _shim(folder: Path) -> Path:
    """An executable ``claims-ledger`` that runs this checkout's CLI."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "claims-ledger"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m ledger.cli "$@"\n')
    shim.chmod(0o755)
    return shim


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    wait_until_healthy(url, proc)


# -- systemd -------------------------------------------------------------------------


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_the_unit_runs_claims_ledger_serve_hardened() -> None:
    settings = unit_settings()
    (exec_start,) = settings["ExecStart"]
    assert shlex.split(exec_start)[:2] == [SHIPPED_BINARY, "serve"]
    assert settings["User"] == ["claims-ledger"]
    for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert settings[hardening] in (["yes"], ["strict"]), hardening
    assert settings["ReadWritePaths"] == ["/var/lib/claims-ledger"]
    assert "LEDGER_HOME=/var/lib/claims-ledger" in settings["Environment"]
    assert settings["CapabilityBoundingSet"] == [""]
    # The passphrase is a credential file, never a value in the environment.
    assert not any(e.startswith("LEDGER_KEY_PASSPHRASE=") for e in settings["Environment"])
    assert "LEDGER_KEY_PASSPHRASE_FILE=%d/passphrase" in settings["Environment"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_accepts_the_unit_and_rates_it_ok(tmp_path: Path) -> None:
    """The unit as shipped, but for its binary path (verify checks it is executable)."""
    shim = _shim(tmp_path / "bin")
    unit = tmp_path / "claims-ledger.service"
    unit.write_text(UNIT.read_text().replace(SHIPPED_BINARY, str(shim)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert found, security.stdout + security.stderr
    assert float(found.group(1)) <= 2.0, security.stdout


def test_the_units_command_serves_and_stops_on_its_kill_signal(tmp_path: Path) -> None:
    """ExecStart as written (another port, this checkout's CLI), with the unit's
    Environment lines, LEDGER_HOME a temporary folder and the passphrase as a file."""
    settings = unit_settings()
    env = dict(e.split("=", 1) for e in settings["Environment"])
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "passphrase").write_text("a passphrase from a credential file\n")
    env["LEDGER_KEY_PASSPHRASE_FILE"] = env["LEDGER_KEY_PASSPHRASE_FILE"].replace(
        "%d", str(credentials)
    )
    env["LEDGER_HOME"] = str(tmp_path / "state")
    port = _free_port()
    argv = shlex.split(settings["ExecStart"][0])
    argv[0] = str(_shim(tmp_path / "bin"))
    argv[argv.index("--port") + 1] = str(port)
    proc = subprocess.Popen(argv, env={"PATH": "/usr/bin:/bin", **env}, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        assert httpx.get(f"{url}/checkpoint", timeout=5).text.startswith("claims-ledger/local\n")
        # LEDGER_API_PRODUCTION=true: no introspection.
        answer = httpx.post(
            f"{url}/graphql", json={"query": "{ __schema { types { name } } }"}, timeout=10
        ).json()
        assert "errors" in answer
        assert (tmp_path / "state" / "keys" / "log.key.pem").exists()
        assert not (tmp_path / "state" / "keys" / "passphrase").exists()  # the credential's
        proc.send_signal(getattr(signal, settings["KillSignal"][0]))
        assert proc.wait(timeout=float(settings["TimeoutStopSec"][0])) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- container -------------------------------------------------------------------------


def containerfile() -> str:
    return (ROOT / "Containerfile").read_text()


def test_the_containerfile_installs_what_the_project_packages_and_runs_unprivileged() -> None:
    text = containerfile()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
    copied = re.findall(r"^COPY (\S+) \./\1$", text, re.M)
    assert sorted(copied) == sorted(packages)
    for name in re.findall(r"^COPY (?:--chmod=\d+ )?(\S+)", text, re.M):
        for part in name.split():
            assert (ROOT / part).exists(), part
    user = re.search(r"^USER (\S+)$", text, re.M)
    assert user and not user.group(1).startswith(("root", "0"))
    (entry,) = re.findall(r'^ENTRYPOINT \["(\S+)"\]$', text, re.M)
    assert f"deploy/entrypoint.sh {entry}" in text


def _engine_answers() -> bool:
    for engine in ("podman", "docker"):
        if shutil.which(engine):
            done = subprocess.run([engine, "info"], capture_output=True, timeout=30)
            if done.returncode == 0:
                return True
    return False


@pytest.mark.slow
def test_the_image_builds_and_answers(tmp_path: Path) -> None:
    if not _engine_answers():
        pytest.skip("no container engine answers here (docker/podman info failed)")
    engine = "podman" if shutil.which("podman") else "docker"
    tag = "claims-ledger-test:ops"
    built = subprocess.run(
        [engine, "build", "-t", tag, "-f", "Containerfile", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    port = _free_port()
    run = subprocess.run(
        [engine, "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8000", tag],
        capture_output=True,
        text=True,
        timeout=60,
    )
    container = run.stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("the container did not answer /healthz")
    finally:
        subprocess.run([engine, "stop", container], capture_output=True, timeout=60)


@pytest.fixture
def image_env(tmp_path: Path) -> dict[str, str]:
    """The image's environment (its ENV lines), in a temporary folder."""
    env: dict[str, str] = {}
    block = re.search(r"^ENV (.*?)(?=^\S)", containerfile(), re.M | re.S)
    assert block
    for name, value in re.findall(r"(\w+)=(\S+)", block.group(1)):
        env[name] = value
    bin_dir = tmp_path / "opt" / "bin"
    _shim(bin_dir)
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    env["LEDGER_HOME"] = str(tmp_path / "var-lib")
    return env


def test_the_entry_script_serves_with_the_secret_passphrase(
    tmp_path: Path, image_env: dict[str, str]
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "ledger_key_passphrase").write_text("from a container secret\n")
    port = _free_port()
    env = {
        **image_env,
        "LEDGER_SECRETS_DIR": str(secrets),
        "LEDGER_LISTEN_HOST": "127.0.0.1",
        "LEDGER_LISTEN_PORT": str(port),
        "LEDGER_WORKERS": "1",
    }
    script = str(DEPLOY / "entrypoint.sh")
    proc = subprocess.Popen([script], env=env, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        assert httpx.get(f"{url}/checkpoint", timeout=5).text.startswith("claims-ledger/local\n")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    # Arguments: a command. The keys were made with the secret's passphrase: signing works
    # with it and fails, naming the settings, without it.
    signed = subprocess.run(
        [script, "tokens", "create", "ops", "--key", "ingest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert signed.returncode == 0, signed.stderr
    unsigned = subprocess.run(
        [script, "tokens", "create", "ops2", "--key", "ingest"],
        env={**env, "LEDGER_SECRETS_DIR": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unsigned.returncode != 0
    assert "LEDGER_KEY_PASSPHRASE_FILE" in unsigned.stderr
    status = subprocess.run(
        [script, "status"], env=env, capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0 and str(tmp_path / "var-lib") in status.stdout


# -- nginx -------------------------------------------------------------------------------


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx/claims-ledger.conf no longer has {old!r}"
    return text.replace(old, new)


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A served ledger (client mutation limit 2/minute) behind the shipped nginx site
    config: (https URL through nginx, the API's own URL, the CA file)."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    home = tmp_path / "home"
    first = run_cli(home, "run", "--no-serve", LEDGER_KEY_PASSPHRASE="pw")
    assert first.returncode == 0, first.stderr
    api, api_url = launch(
        home,
        f"sqlite:///{home / 'ledger.sqlite3'}",
        env={
            "LEDGER_API_CLIENT_MUTATION_RATE": "2/minute",
            "LEDGER_API_MUTATION_RATE": "off",
            # uvicorn (before LEDGER_TRUSTED_PROXIES) believes 127.0.0.1 by default.
            "LEDGER_TRUSTED_PROXIES": "127.0.0.1",
            "LEDGER_API_EVENT_HEARTBEAT": "0.5",
        },
    )
    folder = tmp_path / "nginx"
    folder.mkdir()
    cert, key = _certificate(folder)
    tls_port, plain_port = _free_port(), _free_port()
    site = (DEPLOY / "nginx" / "claims-ledger.conf").read_text()
    site = _replace_once(site, "server 127.0.0.1:8000;", f"server {api_url.split('//')[1]};")
    site = _replace_once(site, "listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;")
    site = _replace_once(site, "listen 80;", f"listen 127.0.0.1:{plain_port};")
    site = _replace_once(site, "/etc/letsencrypt/live/ledger.example.org/fullchain.pem", str(cert))
    site = _replace_once(site, "/etc/letsencrypt/live/ledger.example.org/privkey.pem", str(key))
    (folder / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n access_log off;\n client_body_temp_path {folder}/body;\n"
        f" proxy_temp_path {folder}/proxy;\n fastcgi_temp_path {folder}/fastcgi;\n"
        f" uwsgi_temp_path {folder}/uwsgi;\n scgi_temp_path {folder}/scgi;\n"
        f" include {folder}/site.conf;\n}}\n"
    )
    nginx = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(folder),
            "-c",
            str(folder / "nginx.conf"),
            "-e",
            str(folder / "error.log"),
        ],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                break
            except OSError:
                if nginx.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {(folder / 'error.log').read_text()}")
                time.sleep(0.1)
        yield f"https://127.0.0.1:{tls_port}", api_url, cert
        plain = httpx.get(f"http://127.0.0.1:{plain_port}/healthz", timeout=5)
        assert plain.status_code == 301 and plain.headers["location"].startswith("https://")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        api.terminate()
        api.wait(timeout=30)


MUTATION = 'mutation { retractClaim(claimId: "00", follows: "00", reason: "x") { __typename } }'


def _client(cert: Path, source: str) -> httpx.Client:
    """A client connecting from ``source`` (any 127.0.0.0/8 address is this machine)."""
    context = ssl.create_default_context(cafile=str(cert))
    return httpx.Client(
        verify=context, transport=httpx.HTTPTransport(verify=context, local_address=source)
    )


def _mutate(client: httpx.Client, url: str, spoof: str | None = None) -> int:
    headers = {"x-forwarded-for": spoof} if spoof else {}
    return client.post(
        f"{url}/graphql", json={"query": MUTATION}, headers=headers, timeout=10
    ).status_code


def test_tls_through_nginx_serves_queries_and_the_checkpoint(
    proxied: tuple[str, str, Path],
) -> None:
    url, _api, cert = proxied
    with _client(cert, "127.0.0.1") as client:
        answer = client.post(
            f"{url}/graphql", json={"query": "{ claims(first: 1) { totalCount } }"}, timeout=10
        )
        assert answer.status_code == 200 and answer.json()["data"]["claims"]["totalCount"] > 0
        assert answer.headers["strict-transport-security"] == "max-age=31536000"
        assert client.get(f"{url}/checkpoint", timeout=10).text.startswith("claims-ledger/local\n")


def test_the_rate_limit_counts_the_forwarded_client_which_cannot_choose_it(
    proxied: tuple[str, str, Path],
) -> None:
    """Each client address gets its own 2 mutations a minute through the proxy: without
    the forwarded header every client would be the proxy, 127.0.0.1, and share them. A
    client's own X-Forwarded-For is replaced by nginx, so changing it buys nothing."""
    url, _api, cert = proxied
    with _client(cert, "127.0.0.2") as first, _client(cert, "127.0.0.3") as second:
        assert [_mutate(first, url, spoof=f"10.0.0.{n}") for n in range(3)][-1] == 429
        assert _mutate(second, url) != 429
        assert _mutate(second, url) != 429
        assert _mutate(second, url) == 429


def test_metrics_are_not_served_through_the_proxy_and_events_stream_unbuffered(
    proxied: tuple[str, str, Path],
) -> None:
    url, api, cert = proxied
    with _client(cert, "127.0.0.1") as client:
        assert client.get(f"{url}/metrics", timeout=10).status_code == 403
        with httpx.stream("GET", f"{api}/events", timeout=5) as probe:
            if probe.status_code == 404:
                pytest.skip("this server has no /events stream")
        started = time.monotonic()
        with client.stream("GET", f"{url}/events", timeout=10) as stream:
            assert stream.status_code == 200
            first = next(stream.iter_raw())
        # A heartbeat (every 0.5 s here) arrives at once, not when a buffer fills.
        assert first and time.monotonic() - started < 5
