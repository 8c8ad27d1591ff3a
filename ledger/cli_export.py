"""``claims-ledger export --format …``: every claim as JSON Lines or CSV in the formats of
``ledger/export.py`` (claims, ClaimReview, Web Annotation, PROV), streamed page by page."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:  # imported when the command runs: the command line starts without them
    from ledger.export import Format
    from ledger.service import Ledger

FORMAT_HELP = (
    "bundle (a verifiable folder, the default), jsonl or csv (claims in their current "
    "state), claimreview (schema.org, one per review), annotations (a W3C Web Annotation "
    "of each quote) or prov (W3C PROV-O)."
)


def export_records(
    ledger: Ledger, fmt: str, path: Path | None, *, base_url: str | None, err: Console
) -> None:
    """Write the export to ``path`` (replaced only once complete) or to stdout. Writing
    to a file shows a progress bar on ``err``: records out of the claims counted first
    (one record a claim), or a running count for ``claimreview`` (one a review)."""
    from ledger.export import FORMATS, write_export
    from ledger.queries import ClaimFilter

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be bundle or one of {', '.join(FORMATS)}")
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise typer.BadParameter("--base-url must be an http(s) URL")
    chosen: Format = fmt
    if path is None:
        write_export(ledger, chosen, sys.stdout, base_url=base_url)
        return
    target = path.resolve()
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with (
            os.fdopen(fd, "w", encoding="utf-8", newline="") as handle,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as bar,
        ):
            total = None if fmt == "claimreview" else ledger.count_claims(ClaimFilter())
            task = bar.add_task(f"exporting {fmt}", total=total)
            count = write_export(
                ledger,
                chosen,
                handle,
                base_url=base_url,
                progress=lambda n: bar.update(task, completed=n),
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    err.print(f"{count} {fmt} records written to {target}")
