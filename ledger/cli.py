"""The claims-ledger command: a thin layer that parses arguments and calls the service.

Exit statuses are ``ledger.exit_codes``'s; ``main`` maps errors to them in one place, and
``--json`` output is ``ledger.cli_json``'s (both documented in docs/cli.md)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ledger import cli_json, exit_codes
from ledger.cli_client import register as register_client_commands
from ledger.cli_export import FORMAT_HELP, export_records
from ledger.cli_identities import register as register_identity_commands
from ledger.cli_rotation import register as register_rotation_commands
from ledger.cli_witness import register as register_witness_commands
from ledger.config import (
    DEFAULT_API_TIMEOUT,
    Settings,
    count_setting,
    env_flag,
    seconds_setting,
)
from ledger.echo import echo
from ledger.errors import (
    Duplicate,
    FormatError,
    InvalidInput,
    LedgerError,
    NotFound,
    UsageError,
    VerificationError,
)
from ledger.sources import read_local_bytes

if TYPE_CHECKING:
    from ledger.banner import KeyFiles
    from ledger.cosignature import WitnessPolicy
    from ledger.entries import Role
    from ledger.ingest import IngestResult, Target
    from ledger.instance import Instance
    from ledger.verify import VerifyReport

PROG = "claims-ledger"


_VALUE_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH"}


def _help_without_type_tags() -> None:
    """Help shows an option's value as a word (TEXT, INTEGER, PATH or its metavar) and
    nothing for a flag, instead of typer's ``<bool>``/``<str>`` tags (typer >= 0.17 has
    no setting for this: its parameter classes are told how to display their type)."""
    from typer.core import TyperArgument, TyperOption

    def option_type(self: TyperOption, ctx: object) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return str(self.metavar)
        bare = self.bare_type()
        element = bare[5:-1] if bare.startswith("list[") else bare
        return _VALUE_WORDS.get(element, "VALUE")

    def argument_type(self: TyperArgument, ctx: object) -> str | None:
        return None  # the argument's name (its metavar) is shown already

    for cls, display in ((TyperOption, option_type), (TyperArgument, argument_type)):
        if hasattr(cls, "display_type_rich"):
            cls.display_type_rich = display  # type: ignore[method-assign,assignment]


_help_without_type_tags()
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="A provenance-verified claims ledger: ingest news articles, list and review the "
    "claims found in them, verify the signed append-only log, serve it over GraphQL. "
    "Ids may be given in full, as a unique prefix of at least 6 hex digits, or as a "
    "global ID; add --json to listing and show commands for machine-readable output "
    "(docs/cli.md).",
)
keys_app = typer.Typer(
    no_args_is_help=True, help="Signer keys: create, list, revoke; rotate the log key."
)
claim_app = typer.Typer(
    no_args_is_help=True, help="One claim: show, history, revise, retract, review."
)
app.add_typer(keys_app, name="keys")
tokens_app = typer.Typer(no_args_is_help=True, help="API bearer tokens, each bound to a key.")
app.add_typer(claim_app, name="claim")
app.add_typer(tokens_app, name="tokens")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
PIPED_WIDTH = 10_000
"""Columns a table may use when stdout is not a terminal: rows are never cut or wrapped."""
JSON_HELP = "Print JSON instead of a table (keys in docs/cli.md)."


@contextmanager
def _instance() -> Iterator[Instance]:
    from ledger.instance import open_instance

    # Keys are decrypted only when a command signs: reading needs no passphrase.
    instance = open_instance(Settings.from_env(), lazy_keys=True)
    try:
        yield instance
        # A command that appended brings the derived caches up to its appends once, at its
        # end: readers never write them (decision 0027). Not after a failure or Ctrl-C.
        instance.ledger.keep_derived()
    finally:
        instance.close()


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    from ledger.extract import DeterministicExtractor

    try:
        package = version("claims-ledger")
    except PackageNotFoundError:
        package = "unknown (not installed)"
    rules = DeterministicExtractor.version
    sys.stdout.write(f"{PROG} {package} (extractor rules {rules})\n")
    raise typer.Exit(exit_codes.OK)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    if not out.is_terminal:  # piped or redirected: tables as wide as their content
        out.width = PIPED_WIDTH


def _claim_id(instance: Instance, text: str) -> str:
    """A claim id from a full id, a unique prefix or a global ID (``ledger.ids``)."""
    from ledger.ids import resolve

    return resolve(instance.ledger.store, "claim", text)


register_identity_commands(app, _instance, out)
register_witness_commands(app, out, _instance)
register_client_commands(app, out, err)
register_rotation_commands(keys_app, _instance, out)


def _seeds_dir() -> Path:
    return Path(os.environ.get("LEDGER_SEEDS", "seeds"))


@app.command()
def run(
    seeds: Annotated[Path | None, typer.Option(help="Folder of seed documents to ingest.")] = None,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the GraphQL API afterwards.")
    ] = True,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Create the ledger on first use, ingest the seeds, print a summary, serve the API."""
    from ledger.banner import KeyFiles

    before = KeyFiles.look(Settings.from_env())
    with _instance() as instance:
        folder = seeds or _seeds_dir()
        if folder.is_dir():
            _print_ingest(_ingest(instance, [folder]))
        else:
            err.print(f"[yellow]no seeds folder at {folder}; nothing ingested[/]")
        _print_summary(instance)
        if serve_api:
            _print_banner(instance, host=host, port=port, before=before)
    if serve_api:
        _serve(host=host, port=port, workers=1)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes sharing the port.")] = 1,
    introspection: Annotated[
        bool | None,
        typer.Option(
            "--introspection/--no-introspection",
            help="GraphQL introspection and GraphiQL (default: LEDGER_API_INTROSPECTION, on).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a request may run before it is stopped "
            "(default: LEDGER_API_TIMEOUT, 10).",
            show_default=False,
        ),
    ] = None,
    header_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a client has to send a request's headers before it is cut off "
            "(default: LEDGER_API_HEADER_TIMEOUT, 10).",
            show_default=False,
        ),
    ] = None,
    body_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a client has to send a request's body before it gets 408 "
            "(default: LEDGER_API_BODY_TIMEOUT, 30).",
            show_default=False,
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            help="Open connections per worker before new requests get 503 "
            "(default: LEDGER_API_MAX_CONNECTIONS, 1000).",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="One JSON line per request on standard output "
            "(default: LEDGER_API_ACCESS_LOG, on).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the GraphQL API (/graphql), /checkpoint, /events, /metrics and /healthz."""
    from ledger.banner import KeyFiles

    for name, seconds in (
        ("--timeout", timeout),
        ("--header-timeout", header_timeout),
        ("--body-timeout", body_timeout),
    ):
        if seconds is not None:
            seconds_setting({name: str(seconds)}, name, DEFAULT_API_TIMEOUT)
    if max_connections is not None:
        count_setting({"--max-connections": str(max_connections)}, "--max-connections", 1)
    before = KeyFiles.look(Settings.from_env())
    with _instance() as instance:
        _print_banner(
            instance, host=host, port=port, before=before, workers=workers, access_log=access_log
        )
    _serve(
        host=host,
        port=port,
        workers=workers,
        introspection=introspection,
        timeout=timeout,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max_connections,
        access_log=access_log,
    )


def _print_banner(
    instance: Instance,
    *,
    host: str,
    port: int,
    before: KeyFiles,
    workers: int = 1,
    access_log: bool | None = None,
) -> None:
    from ledger.banner import banner

    logging = access_log if access_log is not None else _access_log_setting()
    lines = banner(
        instance.settings,
        instance.ledger,
        host=host,
        port=port,
        before=before,
        workers=workers,
        access_log=logging,
    )
    out.print("\n".join(lines), markup=False, highlight=False)


def _access_log_setting() -> bool:
    return env_flag(os.environ, "LEDGER_API_ACCESS_LOG", default=True)


def _serve(
    *,
    host: str,
    port: int,
    workers: int,
    introspection: bool | None = None,
    timeout: float | None = None,
    header_timeout: float | None = None,
    body_timeout: float | None = None,
    max_connections: int | None = None,
    access_log: bool | None = None,
) -> None:
    # The command line sits above both layers; ledger/ itself never imports api/.
    from api.serve import Overrides, serve

    overrides = Overrides(
        introspection=introspection,
        timeout=timeout,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max_connections,
        access_log=access_log,
    )
    serve(host=host, port=port, workers=workers, overrides=overrides)


@app.command()
def init() -> None:
    """Create the data directory, database, keys and genesis entry if they do not exist."""
    with _instance() as instance:
        instance.writer_key()  # the log and writer keys, created if missing
        _print_summary(instance)


@app.command()
def status(json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Print where the ledger lives and what it holds."""
    with _instance() as instance:
        if json_:
            cli_json.emit(_summary(instance))
        else:
            _print_summary(instance)


@app.command()
def ingest(
    targets: Annotated[list[str], typer.Argument(help="Files, folders or http(s) URLs.")],
    json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Register documents and their claims (folders recursively); same bytes twice add nothing."""
    with _instance() as instance:
        results = _ingest(instance, list(targets))
    if json_:
        cli_json.emit(cli_json.ingested(results))
    else:
        _print_ingest(results)


@app.command()
def reextract(
    source: Annotated[
        str,
        typer.Argument(
            help="The source: its SHA-256, a unique prefix, its global ID, its URL, or the "
            "path it was ingested from."
        ),
    ],
    retract_old: Annotated[
        str | None,
        typer.Option(
            "--retract-old",
            metavar="REASON",
            help="Also retract the source's live claims from other extractors, with this reason.",
        ),
    ] = None,
) -> None:
    """Extract a registered source again with the configured extractor.

    The extractor is LEDGER_EXTRACTOR's; its claims are appended. Refused if this
    extractor version already extracted the source."""
    from ledger.ids import resolve_source
    from ledger.reextract import reextract as reextract_source

    with _instance() as instance:
        result = reextract_source(
            instance.ledger,
            instance.writer_key(),
            resolve_source(instance.ledger.store, source),
            extractor=instance.extractor(),
            retract_reason=retract_old,
        )
    out.print(
        f"source {result.source.sha256} re-extracted by {result.extractor}: "
        f"{result.claims} claims added, {result.retracted} retracted"
    )


@app.command()
def claims(
    search: Annotated[
        str | None,
        typer.Option(help='Words in statement or quote: "a phrase", prefix*; see docs/api.md.'),
    ] = None,
    claimant: Annotated[str | None, typer.Option(help="Part of the claimant's name.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="The source: its SHA-256, a unique prefix, its global ID, its URL, or the "
            "path of the file it was ingested from."
        ),
    ] = None,
    publisher: Annotated[str | None, typer.Option(help="Source publisher.")] = None,
    status: Annotated[str | None, typer.Option(help="active, revised or retracted.")] = None,
    made_from: Annotated[str | None, typer.Option(help="Made on or after (YYYY-MM-DD).")] = None,
    made_to: Annotated[str | None, typer.Option(help="Made on or before (YYYY-MM-DD).")] = None,
    published_from: Annotated[
        str | None, typer.Option(help="Source published on or after (YYYY-MM-DD).")
    ] = None,
    published_to: Annotated[
        str | None, typer.Option(help="Source published on or before (YYYY-MM-DD).")
    ] = None,
    recorded_from: Annotated[
        str | None, typer.Option(help="Recorded in the ledger on or after (YYYY-MM-DD, UTC).")
    ] = None,
    recorded_to: Annotated[
        str | None, typer.Option(help="Recorded in the ledger on or before (YYYY-MM-DD, UTC).")
    ] = None,
    reviewed: Annotated[
        bool | None,
        typer.Option(
            "--reviewed/--unreviewed",
            help="Only claims with at least one review, or only claims with none.",
            show_default=False,
        ),
    ] = None,
    order_by: Annotated[
        str, typer.Option(help="recorded, made_on, source_published or score.")
    ] = "recorded",
    desc: Annotated[bool, typer.Option("--desc", help="Descending order.")] = False,
    as_of: Annotated[
        int | None, typer.Option(help="As the ledger stood at this tree size.")
    ] = None,
    quantity_unit: Annotated[
        str | None,
        typer.Option(help="A quantity in this unit (or with this head noun: containers)."),
    ] = None,
    quantity_min: Annotated[
        str | None, typer.Option(help="A quantity of at least this value (decimal).")
    ] = None,
    quantity_max: Annotated[
        str | None, typer.Option(help="A quantity of at most this value (decimal).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many (1-1000).")] = 50,
    json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List claims (oldest first unless ordered otherwise), with filters."""
    from ledger.ids import source_filter
    from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder

    if status not in (None, "active", "revised", "retracted"):
        raise typer.BadParameter("--status must be active, revised or retracted")
    if order_by not in ORDER_FIELDS:
        raise typer.BadParameter(f"--order-by must be one of {', '.join(ORDER_FIELDS)}")
    order = ClaimOrder(order_by, descending=desc)
    where = ClaimFilter(
        text=search,
        claimant=claimant,
        source=source,
        publisher=publisher,
        status=status,  # type: ignore[arg-type]
        made_from=made_from,
        made_to=made_to,
        published_from=published_from,
        published_to=published_to,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        reviewed=reviewed,
        quantity_unit=quantity_unit,
        quantity_min=quantity_min,
        quantity_max=quantity_max,
    )
    with _instance() as instance:
        if source is not None:
            named = source_filter(instance.ledger.store, source)
            where = dataclasses.replace(where, source=named)
        found = instance.ledger.find_claims(where, order=order, limit=limit, as_of=as_of)
    if json_:
        cli_json.emit(cli_json.claims(found))
        return
    table = Table("claim", "claimant", "made on", "status", "statement")
    for claim in found:
        who = ", ".join(
            part
            for part in (claim.claimant.name, claim.claimant.role, claim.claimant.affiliation)
            if part
        )
        table.add_row(
            claim.claim_id,
            escape(who or "unattributed"),
            claim.made_on or "-",
            claim.status,
            escape(claim.statement),
        )
    out.print(table)
    out.print(f"{len(found)} claims")


@app.command("log")
def log_(
    start: Annotated[int, typer.Option("--from", min=0, help="First sequence number.")] = 0,
    limit: Annotated[int, typer.Option(min=1, help="How many entries (at least 1).")] = 20,
    raw: Annotated[bool, typer.Option("--raw", help="Print each entry's exact bytes.")] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print JSON Lines: one object per entry.")
    ] = False,
) -> None:
    """List entries of the log, oldest first."""
    if raw and json_:
        raise typer.BadParameter("use --raw or --json, not both", param_hint="--raw/--json")
    with _instance() as instance:
        rows = list(instance.ledger.entries(start, start + limit))
    if raw:
        for row in rows:
            sys.stdout.buffer.write(row.data + b"\n")
        return
    if json_:
        for row in rows:
            cli_json.emit(cli_json.entry(row))
        return
    table = Table("seq", "kind", "ts", "signer", "hash")
    for row in rows:
        table.add_row(str(row.seq), row.kind, row.ts, row.signer, row.hash)
    out.print(table)


@app.command()
def rebuild(
    check: Annotated[bool, typer.Option("--check", help="Report differences only.")] = False,
) -> None:
    """Re-derive the projections from the log alone and report any difference."""
    from ledger.verify import rebuild_projections

    with _instance() as instance:
        report = rebuild_projections(instance.ledger.store, apply=not check)
    for line in report.differences:
        out.print(f"[red]difference[/] {line}")
    verb = "found" if check else "repaired"
    out.print(f"replayed {report.entries} entries; {verb} {len(report.differences)} differences")
    if check and report.differences:
        raise typer.Exit(1)


@app.command()
def verify(
    size: Annotated[int | None, typer.Option(help="Verify the first SIZE entries only.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Signature-checking processes (default: all cores).")
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option(help="Verify an export bundle instead, with no database.")
    ] = None,
    log_key: Annotated[
        str | None, typer.Option(help="With --bundle: the log's verifier key (name+hex+base64).")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="An older signed checkpoint the log must extend.")
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(help="A witness's vkey the latest checkpoint must be cosigned by (repeat)."),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option(help="With --witness: how many of them must have cosigned (default: all)."),
    ] = None,
    since: Annotated[
        Path | None,
        typer.Option(
            help="A state file saved by an earlier verify: check only what is new since it, "
            "then update it (a full verify first if the file does not exist yet)."
        ),
    ] = None,
    save_state: Annotated[
        Path | None,
        typer.Option(help="Write the verified state here (atomically, after success)."),
    ] = None,
    json_: Annotated[
        bool,
        typer.Option("--json", help="Print the report as JSON (also when verification fails)."),
    ] = False,
) -> None:
    """Recompute every hash, link, signature, rule, tree node, checkpoint and projection.

    With --since STATE, only the entries after the saved state, the checkpoints over them
    and the consistency proof from the saved one (docs/verification.md).

    Exit status 2 if anything fails to verify, malformed bytes or notes included, or if
    the latest checkpoint lacks the cosignatures --witness and --quorum ask for."""
    if since is not None or save_state is not None:
        _verify_with_state(since, save_state, workers, witness, quorum, bundle, size, checkpoint)
        return
    try:
        report = _verify(size, workers, bundle, log_key, checkpoint, witness, quorum)
    except VerificationError as exc:
        if json_:
            cli_json.emit({"ok": False, "error": str(exc), "seq": exc.seq})
        raise
    if json_:
        cli_json.emit(cli_json.verify_report(report))
        return
    head = report.head.hex() if report.head else "-"
    if report.uncheckpointed:
        err.print(
            f"[yellow]warning:[/] no signed checkpoint covers entries 0 to "
            f"{report.entries - 1} ({report.uncheckpointed}): this log has no checkpoint yet "
            "(written before checkpoints existed); its next append signs one over them"
        )
    out.print(
        f"[green]ok[/] {report.entries} entries verified; {report.checkpoints} checkpoints, "
        f"{report.projection_rows} projection rows; head {head}; root {report.root.hex()}"
    )


def _verify(
    size: int | None,
    workers: int | None,
    bundle: Path | None,
    log_key: str | None,
    checkpoint: Path | None,
    witness: list[str] | None,
    quorum: int | None,
) -> VerifyReport:
    from ledger.bundle import verify_bundle
    from ledger.checkpoint import parse_verifier_key, read_note_file
    from ledger.cosignature import verify_cosignatures
    from ledger.verify import verify_store

    if bundle is not None and log_key is None:
        raise typer.BadParameter("--bundle needs --log-key: the key you trust for this log")
    try:
        trusted = parse_verifier_key(log_key) if log_key is not None else None
    except FormatError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log-key") from exc
    policy = _witness_policy(witness or [], quorum)
    try:
        older = read_note_file(checkpoint, "checkpoint") if checkpoint else None
        if bundle is not None and trusted is not None:
            entries = _count_lines(bundle / "entries.jsonl")
            with _progress(entries) as advance:
                report = verify_bundle(
                    bundle,
                    trusted,
                    older_checkpoint=older,
                    workers=workers,
                    progress=advance,
                    witness_policy=policy,
                )
        else:
            with _instance() as instance:
                store = instance.ledger.store
                with _progress(store.head().size if size is None else size) as advance:
                    report = verify_store(
                        store, size=size, workers=workers, progress=advance, older_checkpoint=older
                    )
                if policy is not None:
                    ledger = instance.ledger
                    verify_cosignatures(ledger.cosigned_note(), ledger.log_verifier(), policy)
    except InvalidInput as exc:
        # Malformed bytes where verification expected a format (a note, a bundle file):
        # that is a failure to verify, not a usage error.
        raise VerificationError(str(exc)) from exc
    return report


def _verify_with_state(
    since: Path | None,
    save: Path | None,
    workers: int | None,
    witness: list[str] | None,
    quorum: int | None,
    *others: object,
) -> None:
    """``verify --since`` / ``--save-state``: ``ledger.verify_since.verify_with_state``."""
    from ledger.cosignature import verify_cosignatures
    from ledger.verify_since import verify_with_state

    if any(other is not None for other in others):
        raise typer.BadParameter(
            "--since and --save-state go with neither --bundle, --size nor --checkpoint"
        )
    policy = _witness_policy(witness or [], quorum)
    try:
        with _instance() as instance:
            ledger = instance.ledger
            store = ledger.store
            with _progress(
                0 if since is not None and since.exists() else store.head().size
            ) as advance:
                run = verify_with_state(
                    store,
                    ledger.log_verifiers(),
                    since=since,
                    save=save,
                    workers=workers,
                    progress=advance,
                )
            if policy is not None:
                verify_cosignatures(ledger.cosigned_note(), ledger.log_verifier(), policy)
    except InvalidInput as exc:
        raise VerificationError(str(exc)) from exc
    report = run.report
    head = report.head.hex() if report.head else "-"
    if run.since is not None:
        start = run.state.size - run.since.new_entries
        out.print(
            f"[green]ok[/] {run.since.new_entries} new entries verified since the state at "
            f"size {start}; {report.checkpoints} checkpoints ({run.since.map_roots} "
            f"state-map roots), {run.since.proofs} inclusion proofs of older entries; head "
            f"{head}; root {report.root.hex()}"
        )
        if run.since.state_map is None:
            err.print(
                "note: the saved checkpoint carries no state-map root, so the claim-state "
                "map was not checked (absences are the store's answers)"
            )
        elif run.map_rebuilt:
            err.print(
                f"note: no map file beside the state; the map at size {start} was rebuilt "
                "from the store's rows (linear in the log) and checked against the saved "
                "checkpoint"
            )
    else:
        out.print(
            f"[green]ok[/] {report.entries} entries verified; {report.checkpoints} checkpoints, "
            f"{report.projection_rows} projection rows; head {head}; root {report.root.hex()}"
        )
    if run.saved is not None:
        out.print(f"state at size {run.state.size} saved to {run.saved}")


def _witness_policy(vkeys: list[str], quorum: int | None) -> WitnessPolicy | None:
    from ledger.cosignature import CosignerKey, WitnessPolicy

    if not vkeys:
        if quorum is not None:
            raise typer.BadParameter("--quorum needs --witness", param_hint="--quorum")
        return None
    try:
        keys = tuple(CosignerKey.from_vkey(v) for v in vkeys)
        return WitnessPolicy(keys, len(keys) if quorum is None else quorum)
    except FormatError as exc:
        raise typer.BadParameter(str(exc), param_hint="--witness/--quorum") from exc


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long runs; a no-op below 20,000 entries."""
    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=total < 20_000) as bar:
        task = bar.add_task("entries", total=total)
        yield lambda n: bar.advance(task, n)


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except OSError as exc:
        raise typer.BadParameter(f"{path}: {exc.strerror}") from exc


@app.command()
def export(
    path: Annotated[
        Path | None,
        typer.Argument(help="New folder for a bundle; the file to write for other formats."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "bundle",
    base_url: Annotated[
        str | None, typer.Option(help="Where the ledger is served, for claim and review URLs.")
    ] = None,
) -> None:
    """Write a self-contained bundle (entries' exact bytes, keys, sources, latest checkpoint),
    or every claim as JSON Lines or CSV in another format (to PATH, else to stdout)."""
    from ledger.bundle import export_bundle

    if fmt != "bundle":
        with _instance() as instance:
            export_records(instance.ledger, fmt, path, base_url=base_url, err=err)
        return
    if path is None:
        raise typer.BadParameter("a bundle needs PATH, a new folder")
    with _instance() as instance:
        report = export_bundle(instance.ledger, path)
        key = instance.ledger.log_verifier().key_text()
    out.print(
        f"exported {report.entries} entries and {report.sources} sources to {report.path} "
        f"(checkpoint at size {report.checkpoint_size})"
    )
    out.print(f"verify with: claims-ledger verify --bundle {path} --log-key {key}")
    if report.left_out:
        err.print(
            f"[yellow]left out {report.left_out} entries (seq {report.checkpoint_size} to "
            f"{report.checkpoint_size + report.left_out - 1}): no signed checkpoint covers "
            "them; run claims-ledger verify[/]"
        )


@app.command("checkpoint")
def checkpoint_(
    size: Annotated[int | None, typer.Option(help="A past tree size (default: latest).")] = None,
) -> None:
    """Print the signed checkpoint note exactly as served (with its cosignatures)."""
    with _instance() as instance:
        note = instance.ledger.cosigned_note(size)
    sys.stdout.write(note)


@app.command()
def prove(
    entry: Annotated[
        str,
        typer.Argument(
            metavar="ENTRY",
            help="The entry: its sequence number, its hash, or a unique hash prefix "
            "of at least 6 hex digits.",
        ),
    ],
) -> None:
    """Print a c2sp.org/tlog-proof@v1 file proving the entry is in the latest checkpoint."""
    with _instance() as instance:
        text = instance.ledger.proof_file(_entry_seq(instance, entry))
    sys.stdout.write(text)


def _entry_seq(instance: Instance, text: str) -> int:
    """An entry's sequence number from the number itself, its hash or a unique prefix.
    Digits only are a number, unless at least 6 of them also start a hash: then refused
    as ambiguous if that number is also an entry."""
    from ledger.ids import MIN_PREFIX, resolve

    token = text.strip()
    digits = token.isascii() and token.isdigit()
    if digits and len(token) < MIN_PREFIX:
        return int(token)
    try:
        entry_hash = resolve(instance.ledger.store, "entry", token)
    except NotFound:
        if digits:
            return int(token)
        raise
    if digits and int(token) < instance.ledger.head().size:
        raise UsageError(
            f"{token} is ambiguous: entry number {int(token)}, or the entry whose hash starts "
            f"with it ({entry_hash}); give the full hash to mean that one"
        )
    return instance.ledger.entry(hash=entry_hash).seq


@app.command()
def sources(
    publisher: Annotated[str | None, typer.Option(help="Only this publisher's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many (1-1000).")] = 50,
    json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List sources in the order they were registered, with where they were read from."""
    with _instance() as instance:
        found = instance.ledger.sources(limit=limit, publisher=publisher)
        locations = instance.ledger.store.locations_of([s.sha256 for s in found])
    if json_:
        cli_json.emit(cli_json.sources(found, locations))
        return
    table = Table("sha256", "published", "publisher", "title", "read from")
    for source in found:
        where = locations.get(source.sha256) or ([source.uri] if source.uri else ["-"])
        table.add_row(
            source.sha256,
            source.published or "-",
            escape(source.publisher or "-"),
            escape(source.title or "-"),
            escape("\n".join(where)),
        )
    out.print(table)
    out.print(f"{len(found)} sources")


@app.command("state-proof")
def state_proof(
    claim: Annotated[str | None, typer.Option(help="A claim id (hex).")] = None,
    source: Annotated[str | None, typer.Option(help="A source's SHA-256 (hex).")] = None,
    size: Annotated[int | None, typer.Option(help="A past tree size (default: latest).")] = None,
) -> None:
    """Print, as JSON, the claim-state map proof of a claim's latest entry or a source's
    registration (or of its absence) against a checkpoint (docs/formats/state-map.md)."""
    import base64

    with _instance() as instance:
        found = instance.ledger.state_proof(claim_id=claim, source=source, size=size)
    value = found.value
    document = {
        "namespace": found.namespace,
        "subject": found.raw.hex(),
        "key": found.key.hex(),
        "value": value.hex() if value is not None else None,
        "proof": base64.b64encode(found.proof.to_bytes()).decode("ascii"),
        "root": base64.b64encode(found.root).decode("ascii"),
        "checkpoint": found.checkpoint.note,
    }
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


# keys ---------------------------------------------------------------------------------


@keys_app.command("list")
def keys_list(json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Keys registered in the ledger, and local key files."""
    with _instance() as instance:
        try:
            local: set[str] | None = set(instance.key_files())
        except OSError as exc:
            local = None
            err.print(
                f"[yellow]local key files unknown:[/] {instance.settings.keys_dir}: {exc.strerror}"
            )
        if json_:
            verifier = instance.ledger.verifier_key
            found = [
                cli_json.key(k, verifier(k), None if local is None else k.name in local)
                for k in instance.ledger.list_keys()
            ]
            cli_json.emit({"keys": found, "count": len(found)})
            return
        for key in instance.ledger.list_keys():
            revoked = "" if key.revoked_seq is None else f", revoked at entry {key.revoked_seq}"
            if local is None:
                local_file = "local key file unknown"
            else:
                local_file = "local key file" if key.name in local else "no local key file"
            out.print(f"[bold]{key.name}[/]  roles {','.join(key.roles)}")
            out.print(f"  key id    {key.key_id}")
            out.print(f"  verifier  {instance.ledger.verifier_key(key)}")
            out.print(f"  registered at entry {key.registered_seq}{revoked}; {local_file}")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A new key name (a name is never reused).")],
    role: Annotated[list[str], typer.Option(help="admin, writer or reviewer; repeatable.")],
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase/--no-passphrase",
            help="Encrypt the key file with the passphrase (LEDGER_KEY_PASSPHRASE or "
            "LEDGER_KEY_PASSPHRASE_FILE), or store the private key in plain text.",
        ),
    ] = True,
) -> None:
    """Generate a key file and register the key in the ledger (signed by the log key)."""
    from ledger.state import key_named

    roles = _roles(role)
    with _instance() as instance:
        taken = key_named(instance.ledger.list_keys(), name)
        if taken is not None:
            # Before the key file is written: a refused registration leaves nothing behind.
            raise Duplicate(
                f"key name {name!r} is already registered (key {taken.key_id}, entry "
                f"{taken.registered_seq}); a key name is registered once and never reused"
            )
        admin = instance.log_key()  # before the key file is written, as above
        key = instance.keyring.create(name, unencrypted=not passphrase)
        entry = instance.ledger.register_key(admin, key, roles)
    out.print(f"key {name} {key.key_id} registered at entry {entry.seq}")


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[
        str, typer.Argument(help="The key: its name, its key id, or a unique key id prefix.")
    ],
    reason: Annotated[str, typer.Option(help="Why the key is revoked.")],
) -> None:
    """Revoke a key from the next entry on (signed by the log key)."""
    with _instance() as instance:
        key_id = _key_id(instance, key)
        entry = instance.ledger.revoke_key(instance.log_key(), key_id, reason)
    out.print(f"key {key_id} revoked at entry {entry.seq}")


def _key_id(instance: Instance, text: str) -> str:
    """A key id from a key name, a full key id or a unique prefix of one."""
    from ledger.ids import resolve
    from ledger.state import key_named

    named = key_named(instance.ledger.list_keys(), text)
    if named is not None:
        return named.key_id
    try:
        return resolve(instance.ledger.store, "key", text)
    except UsageError as exc:
        if "is not an id" not in str(exc):
            raise  # too short, too long or ambiguous: said as it is
        raise UsageError(
            f"no key is named {echo(text)} and it is not a key id: give a key name from "
            "'claims-ledger keys list', a key id, or a unique prefix of at least 6 hex digits"
        ) from exc


def _roles(values: list[str]) -> list[Role]:

    allowed: dict[str, Role] = {"admin": "admin", "writer": "writer", "reviewer": "reviewer"}
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise typer.BadParameter(f"unknown role(s) {unknown}; use admin, writer or reviewer")
    return [allowed[v] for v in values]


# tokens -------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    name: str,
    key: Annotated[str, typer.Option(help="Local key the token's writes are signed with.")],
) -> None:
    """Create a bearer token (printed once; only its hash is stored)."""
    from ledger.tokens import create_token

    with _instance() as instance:
        signing_key = instance.keyring.load(key)
        secret = create_token(instance.ledger.store, name, signing_key)
    err.print(f"token {name} bound to key {key} ({signing_key.key_id}); store it now:")
    sys.stdout.write(secret + "\n")


@tokens_app.command("list")
def tokens_list(json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Tokens and the keys they are bound to (never the secrets)."""
    from ledger.tokens import list_tokens

    with _instance() as instance:
        tokens = list_tokens(instance.ledger.store)
    if json_:
        cli_json.emit({"tokens": [cli_json.token(t) for t in tokens], "count": len(tokens)})
        return
    for token in tokens:
        state = f"revoked {token.revoked_at}" if token.revoked_at else "active"
        out.print(f"{token.name}  key {token.key_name} {token.key_id}  {state}", markup=False)


@tokens_app.command("revoke")
def tokens_revoke(name: str) -> None:
    """Revoke a token at once."""
    from ledger.tokens import revoke_token

    with _instance() as instance:
        revoke_token(instance.ledger.store, name)
    out.print(f"token {name} revoked")


# claims -------------------------------------------------------------------------------


CLAIM_HELP = "The claim: its id, a unique prefix of at least 6 hex digits, or its global ID."


@claim_app.command("show")
def claim_show(
    claim_id: Annotated[str, typer.Argument(metavar="CLAIM", help=CLAIM_HELP)],
    json_: Annotated[
        bool, typer.Option("--json", help="One line of JSON instead of indented JSON.")
    ] = False,
) -> None:
    """The current state of a claim, as JSON."""
    with _instance() as instance:
        claim = instance.ledger.claim(_claim_id(instance, claim_id))
    if json_:
        cli_json.emit(cli_json.claim(claim))
    else:
        out.print_json(json.dumps(claim.to_json()))


@claim_app.command("history")
def claim_history(
    claim_id: Annotated[str, typer.Argument(metavar="CLAIM", help=CLAIM_HELP)],
    json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Every entry about a claim, in order, with who signed it and when."""
    with _instance() as instance:
        claim_id = _claim_id(instance, claim_id)
        items = instance.ledger.history(claim_id)
    if json_:
        cli_json.emit(cli_json.history(claim_id, items))
        return
    table = Table("seq", "kind", "ts", "signer", "status", "revision", "statement")
    for item in items:
        entry, state = item.entry, item.state
        table.add_row(
            str(entry.seq),
            entry.kind,
            entry.body.ts,
            escape(item.key.name) if item.key else entry.body.signer,
            state.status,
            str(state.revision),
            escape(state.statement),
        )
    out.print(table)


@claim_app.command("revise")
def claim_revise(
    claim_id: Annotated[str, typer.Argument(metavar="CLAIM", help=CLAIM_HELP)],
    reason: Annotated[str, typer.Option(help="Why the claim is revised.")],
    statement: Annotated[str | None, typer.Option(help="The corrected statement.")] = None,
    made_on: Annotated[str | None, typer.Option(help="The corrected date (YYYY-MM-DD).")] = None,
    made_on_precision: Annotated[
        str | None,
        typer.Option(help="How precise the date is: day (the default), month or year."),
    ] = None,
) -> None:
    """Revise a claim (signed by the writer key); follows the claim's latest entry."""
    from ledger.entries import ClaimChanges, build

    changes = build(
        ClaimChanges,
        where="revision",
        statement=statement,
        made_on=made_on,
        made_on_precision=made_on_precision or ("day" if made_on is not None else None),
    )
    with _instance() as instance:
        claim_id = _claim_id(instance, claim_id)
        claim = instance.ledger.claim(claim_id)
        entry = instance.ledger.revise_claim(
            instance.writer_key(), claim_id, follows=claim.head, changes=changes, reason=reason
        )
    out.print(f"claim {claim_id} revised at entry {entry.seq}")


@claim_app.command("retract")
def claim_retract(
    claim_id: Annotated[str, typer.Argument(metavar="CLAIM", help=CLAIM_HELP)],
    reason: Annotated[str, typer.Option(help="Why the claim is retracted.")],
) -> None:
    """Retract a claim (signed by the writer key)."""
    with _instance() as instance:
        claim_id = _claim_id(instance, claim_id)
        claim = instance.ledger.claim(claim_id)
        entry = instance.ledger.retract_claim(
            instance.writer_key(), claim_id, follows=claim.head, reason=reason
        )
    out.print(f"claim {claim_id} retracted at entry {entry.seq}")


@claim_app.command("review")
def claim_review(
    claim_id: Annotated[str, typer.Argument(metavar="CLAIM", help=CLAIM_HELP)],
    rating: Annotated[str, typer.Option(help="Textual rating, e.g. 'Mostly true'.")],
    value: Annotated[int | None, typer.Option(help="Numeric rating.")] = None,
    best: Annotated[int | None, typer.Option(help="Best possible rating.")] = None,
    worst: Annotated[int | None, typer.Option(help="Worst possible rating.")] = None,
    note: Annotated[str | None, typer.Option(help="Reviewer's note.")] = None,
    url: Annotated[str | None, typer.Option(help="URL of the published review.")] = None,
    key: Annotated[str, typer.Option(help="Name of the reviewer's local key.")] = "log",
    reviewer_name: Annotated[
        str | None,
        typer.Option(help="Who stands behind the review: the ClaimReview's author."),
    ] = None,
    reviewer_type: Annotated[
        str, typer.Option(help="Person or Organization (with --reviewer-name).")
    ] = "Organization",
    reviewer_url: Annotated[
        str | None, typer.Option(help="The reviewer's web address, http(s).")
    ] = None,
) -> None:
    """Review a claim with a verdict in ClaimReview terms, optionally naming the reviewer
    (a person or an organisation) that the ClaimReview export gives as its author."""
    from ledger.entries import Rating, Reviewer, ReviewerType

    verdict = Rating(textual=rating, value=value, best=best, worst=worst)
    reviewer = None
    if reviewer_name is None:
        if reviewer_url is not None:
            raise typer.BadParameter("--reviewer-url needs --reviewer-name")
    else:
        kinds: dict[str, ReviewerType] = {"person": "Person", "organization": "Organization"}
        kind = kinds.get(reviewer_type.lower())
        if kind is None:
            raise typer.BadParameter(
                f"--reviewer-type {reviewer_type!r} is not Person or Organization"
            )
        reviewer = Reviewer(name=reviewer_name, type=kind, url=reviewer_url)
    with _instance() as instance:
        claim_id = _claim_id(instance, claim_id)
        claim = instance.ledger.claim(claim_id)
        entry = instance.ledger.review_claim(
            instance.signing_key(key),
            claim_id,
            follows=claim.head,
            rating=verdict,
            note=note,
            url=url,
            reviewer=reviewer,
        )
    out.print(f"claim {claim_id} reviewed at entry {entry.seq}")


@app.command()
def submit(
    path: Annotated[Path, typer.Argument(help="File holding one signed entry's bytes.")],
    source: Annotated[
        Path | None,
        typer.Option(help="The document's exact bytes: required for a source.registered entry."),
    ] = None,
) -> None:
    """Append an entry signed elsewhere, after checking it.

    Its signature and position are checked, and for a source, that the document's bytes
    are the ones it describes."""
    for given, what in ((path, "the signed entry"), (source, "the document's bytes")):
        if given is not None and not given.exists():
            raise InvalidInput(f"{given}: no such file; give the path of the file holding {what}")
    data = read_local_bytes(path).rstrip(b"\n")  # a regular file, at most 10 MiB
    document = read_local_bytes(source) if source is not None else None
    with _instance() as instance:
        instance.log_key()  # signs the checkpoint that follows the entry
        entry = instance.ledger.submit(data, source=document)
    out.print(f"entry {entry.seq} appended ({entry.kind})")


def _ingest(instance: Instance, targets: list[Target]) -> list[IngestResult]:
    """Ingest with a progress bar (one step per document) on stderr."""
    from ledger.fetch import Fetcher
    from ledger.ingest import expand_targets, ingest_paths

    expanded = list(expand_targets(targets, skipped=_print_skipped))
    columns = (TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with (
        Progress(*columns, console=err, transient=True, disable=len(expanded) < 2) as bar,
        Fetcher.from_env() as fetcher,
    ):
        task = bar.add_task("documents", total=len(expanded))
        return ingest_paths(
            instance.ledger,
            instance.writer_key(),
            expanded,
            extractor=instance.extractor(),
            fetcher=fetcher,
            progress=lambda _: bar.advance(task),
        )


def _print_skipped(path: Path, why: str) -> None:
    err.print(f"skipped {path}: {why}", markup=False, highlight=False)


def _print_ingest(results: list[IngestResult]) -> None:
    table = Table("source", "sha256", "added", "claims")
    for result in results:
        verdict = "[green]yes[/]" if result.added else "already in the ledger"
        table.add_row(escape(result.where), result.source.sha256, verdict, str(result.claims))
    out.print(table)
    added = sum(r.added for r in results)
    claims = sum(r.claims for r in results)
    out.print(f"{added} sources added with {claims} claims, {len(results) - added} already present")


def _summary(instance: Instance) -> dict[str, object]:
    """What ``status --json`` prints (docs/cli.md)."""
    settings = instance.settings
    head = instance.ledger.head()
    return {
        "origin": settings.origin,
        "home": str(settings.home),
        "database": _redact(settings.database_url),
        "keys_dir": str(settings.keys_dir),
        "entries": head.size,
        "head": head.last_hash.hex() if head.last_hash else None,
        "kinds": dict(sorted(instance.ledger.store.kind_counts().items())),
    }


def _print_summary(instance: Instance) -> None:
    summary = _summary(instance)
    out.print(f"ledger  [bold]{escape(str(summary['origin']))}[/]")
    out.print(f"home    {summary['home']}", markup=False)
    out.print(f"db      {summary['database']}", markup=False)
    out.print(f"keys    {summary['keys_dir']}", markup=False)
    out.print(f"entries {summary['entries']} (head {summary['head'] or '-'})")
    kinds = summary["kinds"]
    assert isinstance(kinds, dict)
    for kind, count in kinds.items():
        out.print(f"  {kind:<18} {count}")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def run_main(args: list[str] | None = None) -> int:
    """Run the command line on ``args`` (default: ``sys.argv[1:]``) and return its exit
    status: every error the ledger or the command line reports becomes one line on stderr
    and a status from ``ledger.exit_codes`` (docs/cli.md); a bug still shows its traceback."""
    try:
        status = app(args=args, prog_name=PROG, standalone_mode=False)
    except _CLICK_USAGE as exc:  # bad options, bad values (BadParameter), no such command
        message = exc.format_message()  # type: ignore[attr-defined]
        ctx = getattr(exc, "ctx", None)
        if message:  # empty for a bare group: its help was printed instead
            _fail(f"{message}; see {ctx.command_path if ctx else PROG} --help", "usage error")
        return exit_codes.USAGE
    except _CLICK_ERROR as exc:  # e.g. a file option that cannot be opened
        _fail(exc.format_message(), "error")  # type: ignore[attr-defined]
        return exit_codes.USAGE
    except typer.Abort:
        _fail("interrupted", "error")
        return 130
    except VerificationError as exc:
        _fail(str(exc), "verification failed")
        return exit_codes.VERIFICATION_FAILED
    except LedgerError as exc:
        _fail(str(exc), "error")
        return exit_codes.for_error(exc)
    except BrokenPipeError:  # piped into head: the reader left, nothing is wrong
        sys.stderr.close()
        return exit_codes.OK
    return status if isinstance(status, int) else exit_codes.OK


def _click_class(name: str) -> type[Exception]:
    """click's ``UsageError`` or ``ClickException``, found through typer (which, from 0.2x
    on, carries its own copy of click: ``import click`` would name other classes)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_CLICK_USAGE = _click_class("UsageError")
_CLICK_ERROR = _click_class("ClickException")


def _fail(message: str, label: str) -> None:
    err.print(f"[red]{label}:[/] {escape(message)}", highlight=False)


def main() -> None:
    sys.exit(run_main())


if __name__ == "__main__":
    main()
