"""``claims-ledger keys rotate-log``: hand the log over to a new log key (decision 0022),
through ``Instance.rotate_log_key``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.console import Console

from ledger import cli_json
from ledger.instance import Instance

InstanceFactory = Callable[[], AbstractContextManager[Instance]]
JSON_HELP = "Print JSON instead of text (keys in docs/cli.md)."


def register(keys_app: typer.Typer, instance: InstanceFactory, out: Console) -> None:
    """Add ``rotate-log`` to the ``keys`` commands; ``instance`` opens the configured ledger."""

    @keys_app.command("rotate-log")
    def rotate_log(
        reason: Annotated[
            str, typer.Option(help="Why the log key is rotated (recorded in the entry).")
        ] = "scheduled rotation",
        name: Annotated[
            str | None,
            typer.Option(help="The new log key's name (default log-N); a name is never reused."),
        ] = None,
        passphrase: Annotated[
            bool,
            typer.Option(
                "--passphrase/--no-passphrase",
                help="Encrypt the new key file with the passphrase (LEDGER_KEY_PASSPHRASE or "
                "LEDGER_KEY_PASSPHRASE_FILE), or store the private key in plain text.",
            ),
        ] = True,
        json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    ) -> None:
        """Rotate the log key: create a new key, append a log.key.rotated entry signed by
        the current log key and accepted by the new one, and sign every later checkpoint
        with the new key.

        The checkpoint over the entry is the last one the old key signs. Verifying clients
        that pinned the old key follow the rotation by themselves; give witnesses the new
        verifier key printed here (docs/operations.md, "Rotating keys")."""
        with instance() as opened:
            rotation = opened.rotate_log_key(reason, name=name, unencrypted=not passphrase)
            ledger = opened.ledger
            keys = {k.key_id: k for k in ledger.list_keys()}
            old, new = keys[rotation.old.key_id], keys[rotation.new.key_id]
            verifier = ledger.verifier_key(new)
            old_verifier = ledger.verifier_key(old)
        if json_:
            cli_json.emit(
                {
                    "seq": rotation.entry.seq,
                    "entry_hash": rotation.entry.hash.hex(),
                    "last_old_checkpoint": rotation.last_old_checkpoint,
                    "old_key": cli_json.key(old, old_verifier, True),
                    "new_key": cli_json.key(new, verifier, True),
                }
            )
            return
        out.print(
            f"log key rotated at entry {rotation.entry.seq}: {old.name} ({old.key_id}) -> "
            f"{new.name} ({new.key_id})",
            highlight=False,
        )
        out.print(
            f"the checkpoint at tree size {rotation.last_old_checkpoint} is the last the old "
            "key signs; every later one is signed by the new key",
            highlight=False,
        )
        out.print(f"new verifier key  {verifier}", highlight=False, soft_wrap=True)
