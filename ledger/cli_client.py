"""``claims-ledger client`` and ``claims-ledger monitor``: verify a remote server's claims,
sources and log against a pinned log key (and witness quorum), keeping a state file.

Exit status (``ledger.exit_codes``, docs/cli.md, docs/verification.md): 0 verified; 2
verification failed (the server's data or log did not check out, or it is not consistent
with the saved state); 5 the server is unreachable or did not answer as the API should;
3 the server has no such claim or source; 1 a local problem (the state file or a file to
check cannot be read or is invalid); 4 usage (bad arguments, a malformed key).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

from ledger import exit_codes
from ledger.errors import LedgerError, VerificationError

if TYPE_CHECKING:  # ledger.client (httpx, the store) is imported by the commands that use it
    from ledger.client import LedgerClient, SyncReport, VerifiedClaim, VerifiedSource

EXIT_OK = exit_codes.OK
EXIT_LOCAL = exit_codes.REFUSED
EXIT_FAILED = exit_codes.VERIFICATION_FAILED
EXIT_UNAVAILABLE = exit_codes.UNAVAILABLE
EXIT_NOT_FOUND = exit_codes.NOT_FOUND
EXIT_USAGE = exit_codes.USAGE
HOOK_TIMEOUT = 60.0
REASON_ENV = "LEDGER_MONITOR_REASON"
T = TypeVar("T")


LogKey = Annotated[
    str,
    typer.Option(
        "--log-key", help="The log's verifier key (name+id+key), from a source you trust."
    ),
]
Witness = Annotated[
    list[str] | None,
    typer.Option("--witness", help="A witness vkey whose cosignature counts (repeatable)."),
]
Quorum = Annotated[
    int | None,
    typer.Option("--quorum", help="Cosignatures needed from --witness keys (default: all)."),
]
StateFile = Annotated[
    Path | None,
    typer.Option(
        "--state", help="State file: created on first use, checked and updated on each run."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def register(app: typer.Typer, out: Console, err: Console) -> None:
    """Add ``client`` (claim, source, log) and ``monitor`` to ``app``."""
    client_app = typer.Typer(
        no_args_is_help=True,
        help="Verify a server's claims, sources and log against a pinned log key, printing "
        "only values from verified entries; exit 0 verified, 2 failed, 3 not found, "
        "5 unavailable, 1 local, 4 usage (docs/cli.md).",
    )
    app.add_typer(client_app, name="client")

    def open_client(
        url: str, log_key: str, witness: list[str] | None, quorum: int | None, state: Path | None
    ) -> LedgerClient:
        from ledger.client import LedgerClient, TrustPolicy

        try:
            policy = TrustPolicy.parse(log_key, witness or (), quorum)
        except LedgerError as exc:
            _fail(err, EXIT_USAGE, f"bad trust policy: {exc}")
        return _guarded(err, lambda: LedgerClient(url, policy=policy, state=state))

    @client_app.command("claim")
    def claim(
        url: Annotated[str, typer.Argument(help="The server, e.g. http://127.0.0.1:8000")],
        claim_id: Annotated[str, typer.Argument(help="The claim id (hex).")],
        log_key: LogKey,
        witness: Witness = None,
        quorum: Quorum = None,
        state: StateFile = None,
        as_json: AsJson = False,
    ) -> None:
        """Verify one claim and print its values, all decoded from verified entries."""
        client = open_client(url, log_key, witness, quorum, state)
        verified = _guarded(err, lambda: client.verify_claim(claim_id))
        if as_json:
            out.print_json(json.dumps(verified.to_json()))
        else:
            _print_claim(out, verified)

    @client_app.command("source")
    def source(
        url: Annotated[str, typer.Argument(help="The server.")],
        sha256: Annotated[str, typer.Argument(help="The SHA-256 of the source's bytes (hex).")],
        log_key: LogKey,
        file: Annotated[
            Path | None, typer.Option("--file", help="Also check these bytes against it.")
        ] = None,
        witness: Witness = None,
        quorum: Quorum = None,
        state: StateFile = None,
        as_json: AsJson = False,
    ) -> None:
        """Verify a source's registration (and, with --file, that the bytes are the ones it
        registers)."""
        data = None
        if file is not None:
            try:
                data = file.read_bytes()
            except OSError as exc:
                _fail(err, EXIT_LOCAL, f"cannot read {file}: {exc.strerror}")
        client = open_client(url, log_key, witness, quorum, state)
        verified = _guarded(err, lambda: client.verify_source(sha256, data))
        if as_json:
            out.print_json(json.dumps(verified.to_json()))
        else:
            _print_source(out, verified)

    @client_app.command("log")
    def log(
        url: Annotated[str, typer.Argument(help="The server.")],
        log_key: LogKey,
        witness: Witness = None,
        quorum: Quorum = None,
        state: StateFile = None,
        as_json: AsJson = False,
    ) -> None:
        """Verify the log: every entry the first time (or without --state), then only the
        entries after the saved state, with the consistency proof from it."""
        client = open_client(url, log_key, witness, quorum, state)
        report = _guarded(err, client.sync)
        _print_sync(out, report, as_json)

    @app.command("monitor")
    def monitor(
        url: Annotated[str, typer.Argument(help="The server to watch.")],
        log_key: LogKey,
        state: Annotated[Path, typer.Option("--state", help="State file (created on first run).")],
        witness: Witness = None,
        quorum: Quorum = None,
        interval: Annotated[
            float, typer.Option("--interval", min=0.1, help="Seconds between polls.")
        ] = 60.0,
        once: Annotated[bool, typer.Option("--once", help="Poll once and exit.")] = False,
        hook: Annotated[
            str | None,
            typer.Option(
                "--hook",
                help="Command run on an inconsistency (split into words, no shell), with "
                f"the reason in ${REASON_ENV}.",
            ),
        ] = None,
        as_json: AsJson = False,
    ) -> None:
        """Poll a log's checkpoint, verify the new entries since the state file
        incrementally, and update the state file after each success. On any inconsistency:
        run --hook, exit 2. An unreachable server is retried at the next poll (--once: exit 5)."""
        from ledger.client import ClientError, Unavailable

        command = shlex.split(hook) if hook else None
        client = open_client(url, log_key, witness, quorum, state)
        while True:
            try:
                report = client.sync()
            except VerificationError as exc:
                reason = f"verification failed: {exc}"
                err.print(f"[red]{reason}[/]", markup=True, highlight=False)
                if command is not None:
                    _run_hook(err, command, reason, url, state)
                raise typer.Exit(EXIT_FAILED) from exc
            except (Unavailable, ClientError) as exc:
                if once:
                    _fail(err, EXIT_UNAVAILABLE, f"server unavailable: {exc}")
                err.print(f"server unavailable, retrying: {exc}", markup=False)
            except LedgerError as exc:
                _fail(err, EXIT_LOCAL, str(exc))
            else:
                _print_sync(out, report, as_json)
            if once:
                return
            time.sleep(interval)


def _run_hook(err: Console, command: list[str], reason: str, url: str, state: Path) -> None:
    """The operator's command, as words (never a shell line built from server data); the
    reason (which quotes what the server sent) only in the environment."""
    env = {
        **os.environ,
        REASON_ENV: reason,
        "LEDGER_MONITOR_URL": url,
        "LEDGER_MONITOR_STATE": str(state),
    }
    try:
        done = subprocess.run(command, env=env, timeout=HOOK_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        err.print(f"hook {command[0]!r} failed: {exc}", markup=False)
        return
    if done.returncode:
        err.print(f"hook {command[0]!r} exited {done.returncode}", markup=False)


def _guarded(err: Console, call: Callable[[], T]) -> T:
    """Run ``call``, turning the ledger's errors into the documented exit status."""
    from ledger.client import ClientError, NotOnServer, Unavailable

    try:
        return call()
    except VerificationError as exc:
        _fail(err, EXIT_FAILED, f"verification failed: {exc}")
    except Unavailable as exc:
        _fail(err, EXIT_UNAVAILABLE, f"server unavailable: {exc}")
    except NotOnServer as exc:
        _fail(err, EXIT_NOT_FOUND, str(exc))
    except ClientError as exc:
        _fail(err, EXIT_UNAVAILABLE, str(exc))
    except LedgerError as exc:
        _fail(err, EXIT_LOCAL, str(exc))


def _fail(err: Console, code: int, message: str) -> NoReturn:
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def _print_claim(out: Console, claim: VerifiedClaim) -> None:
    s = claim.state
    lines = [
        f"claim {claim.claim_id}: verified against checkpoint {claim.checkpoint.size}",
        f"  statement: {s.statement}",
        f"  quote: {s.selector.exact}",
        f"  claimant: {json.dumps(s.claimant.model_dump(mode='json', exclude_none=True))}",
        f"  reporting: {s.reporting}",
        f"  made on: {s.made_on or '-'}"
        + (f" ({s.made_on_precision})" if s.made_on_precision else ""),
        f"  status: {s.status} (revision {s.revision}, {s.review_count} reviews"
        + (f", last rating {s.last_rating!r})" if s.last_rating else ")"),
        f"  source: {claim.source.sha256} ({claim.source.title or claim.source.uri or '-'})",
    ]
    for quantity in s.quantities:
        lines.append(
            f"  quantity: {json.dumps(quantity.model_dump(mode='json', exclude_none=True))}"
        )
    for step in claim.history:
        changed = ", ".join(name for name, _, _ in step.changes) or "-"
        lines.append(f"  entry {step.seq} {step.kind} by {step.entry.body.signer}: {changed}")
    lines.append(f"  completeness: {'proven' if claim.complete else claim.completeness}")
    for line in lines:
        out.print(line, markup=False, highlight=False)


def _print_source(out: Console, verified: VerifiedSource) -> None:
    s = verified.source
    lines = [
        f"source {s.sha256}: registered at entry {s.seq}, verified against checkpoint "
        f"{verified.checkpoint.size}",
        f"  size {s.size}, {s.media_type}, text sha256 {s.text_sha256}",
        f"  uri: {s.uri or '-'}; title: {s.title or '-'}; publisher: {s.publisher or '-'}; "
        f"published: {s.published or '-'}",
        "  bytes: "
        + ("checked (sha256, size, text)" if verified.bytes_checked else "not given, not checked"),
    ]
    for line in lines:
        out.print(line, markup=False, highlight=False)


def _print_sync(out: Console, report: SyncReport, as_json: bool) -> None:
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "from": report.start,
                    "size": report.size,
                    "root": report.root.hex(),
                    "full": report.full,
                    "kinds": report.kinds,
                }
            )
        )
        return
    what = "every entry" if report.full else f"entries {report.start}..{report.size - 1}"
    if report.start == report.size:
        what = "no new entries"
    out.print(
        f"ok log verified to size {report.size} ({what}); root {report.root.hex()}",
        markup=False,
        highlight=False,
    )
    sys.stdout.flush()
