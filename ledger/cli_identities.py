"""``claims-ledger claimants``, ``lines``, ``link`` and ``unlink``: claimant identities and
claim lines on the command line, through the same service calls as the API."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ledger import cli_json

if TYPE_CHECKING:  # the store and the derived views are imported by the commands
    from ledger.instance import Instance
    from ledger.store.derived import DerivedStatus

InstanceFactory = Callable[[], AbstractContextManager["Instance"]]
JSON_HELP = "Print JSON instead of a table (keys in docs/cli.md)."
ID_HELP = "A claim id or claimant id: in full, a unique prefix of at least 6, or a global ID."
err = Console(stderr=True, soft_wrap=True)


def note_if_behind(status: DerivedStatus, what: str) -> None:
    """One line on stderr when identities and lines are behind the log (decision 0027)."""
    if status.current:
        return
    at = "not derived yet" if status.size is None else f"as of tree size {status.size}"
    err.print(
        f"note: {what} {at}; the log is at {status.log_size} (the writer that appended "
        "has not refreshed them yet)",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer, instance: InstanceFactory, out: Console) -> None:
    """Add the commands to ``app``; ``instance`` opens the configured ledger."""

    @app.command("claimants")
    def claimants(
        search: Annotated[
            str | None, typer.Option(help="Part of a name, or a name in another spelling.")
        ] = None,
        limit: Annotated[
            int, typer.Option(min=1, max=1000, help="At most this many (1-1000).")
        ] = 50,
        json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    ) -> None:
        """List claimant identities (people and organisations across spellings)."""
        with instance() as opened, opened.ledger.snapshot():
            found = opened.ledger.claimant_identities(search=search, limit=limit)
            note_if_behind(opened.ledger.derived_status(), "claimants")
        if json_:
            items = [cli_json.claimant(view) for view in found]
            cli_json.emit({"claimants": items, "count": len(found)})
            return
        table = Table("claimant", "kind", "name", "claims", "also named", "roles")
        for view in found:
            others = ", ".join(n.name for n in view.names if n.name != view.name)
            roles = "; ".join(f"{r.role} ({r.first or '?'} to {r.last or '?'})" for r in view.roles)
            table.add_row(
                view.id,
                view.kind,
                escape(view.name),
                str(view.claims),
                escape(others or "-"),
                escape(roles or "-"),
            )
        out.print(table)
        out.print(f"{len(found)} claimants")

    @app.command("lines")
    def lines(
        unit: Annotated[str | None, typer.Option(help='Unit, e.g. "containers".')] = None,
        search: Annotated[
            str | None, typer.Option(help="Words the subject or label must contain.")
        ] = None,
        claimant: Annotated[
            str | None,
            typer.Option(help="A claimant (id or prefix): lines with a figure it stated."),
        ] = None,
        min_sources: Annotated[int, typer.Option(min=1, help="At least this many sources.")] = 2,
        limit: Annotated[
            int, typer.Option(min=1, max=1000, help="At most this many (1-1000).")
        ] = 50,
        json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    ) -> None:
        """List claim lines: one figure followed across sources, by date made."""
        from ledger.derived import LineFilter
        from ledger.ids import resolve

        with instance() as opened, opened.ledger.snapshot():
            if claimant is not None:
                claimant = resolve(opened.ledger.store, "claimant", claimant)
            where = LineFilter(unit=unit, search=search, claimant=claimant, min_sources=min_sources)
            found = opened.ledger.claim_lines(where, limit=limit)
            note_if_behind(opened.ledger.derived_status(), "claim lines")
        if json_:
            cli_json.emit({"lines": [cli_json.line(view) for view in found], "count": len(found)})
            return
        for line in found:
            out.print(f"[bold]{escape(line.label)}[/bold]  ({escape(line.unit)}; line {line.id})")
            table = Table("made on", "figure", "bound", "claimant", "claim")
            for point in line.points:
                made = point.made_on or f"({point.published or '?'})"
                table.add_row(
                    made,
                    f"{point.value} {point.unit}",
                    point.bound,
                    escape(point.claimant_name or "unattributed"),
                    point.claim_id,
                )
            out.print(table)
        out.print(f"{len(found)} lines")

    @app.command("link")
    def link(
        a: Annotated[str, typer.Argument(help=ID_HELP)],
        b: Annotated[str, typer.Argument(help="Another " + ID_HELP[2:])],
        reason: Annotated[str, typer.Option(help="Why they are one claimant.")],
        key: Annotated[str, typer.Option(help="Name of the reviewer's local key.")] = "log",
    ) -> None:
        """Record that the claimants of two claims are one person or organisation."""
        from ledger.ids import resolve

        with instance() as opened:
            a, b = (resolve(opened.ledger.store, "claimant", x) for x in (a, b))
            entry = opened.ledger.link_claimants(opened.signing_key(key), a, b, reason=reason)
            merged = opened.ledger.claimant_identity(a)
        out.print(f"linked at entry {entry.seq}: claimant {merged.id} ({merged.name})")

    @app.command("unlink")
    def unlink(
        a: Annotated[str, typer.Argument(help=ID_HELP)],
        b: Annotated[str, typer.Argument(help="Another " + ID_HELP[2:])],
        reason: Annotated[str, typer.Option(help="Why they are not one claimant.")],
        key: Annotated[str, typer.Option(help="Name of the reviewer's local key.")] = "log",
    ) -> None:
        """Record that the claimants of two claims are not the same."""
        from ledger.ids import resolve

        with instance() as opened:
            a, b = (resolve(opened.ledger.store, "claimant", x) for x in (a, b))
            entry = opened.ledger.unlink_claimants(opened.signing_key(key), a, b, reason=reason)
            left, right = opened.ledger.claimant_identity(a), opened.ledger.claimant_identity(b)
        out.print(f"unlinked at entry {entry.seq}: claimants {left.id} and {right.id}")
