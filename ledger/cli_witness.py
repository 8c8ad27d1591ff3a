"""``claims-ledger witness``: run a c2sp.org/tlog-witness for logs, make its key, print its
verifier key (docs/formats/witness.md, docs/operations.md)."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console

from ledger.cosignature import Cosigner
from ledger.errors import ConfigError, FormatError, LedgerError
from ledger.signing import write_private_file
from ledger.witness import Witness, WitnessConfig, WitnessState, encode_private_key
from ledger.witness_http import DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, make_server

if TYPE_CHECKING:
    from ledger.instance import Instance

PASSPHRASE_ENV = "LEDGER_WITNESS_KEY_PASSPHRASE"


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--listen {text!r} must be HOST:PORT, e.g. 127.0.0.1:7380")
    return host.strip("[]"), int(port)


def register(
    app: typer.Typer,
    out: Console,
    instance: Callable[[], AbstractContextManager[Instance]],
) -> None:
    """Add the ``witness`` command group to ``app`` (``instance`` opens this ledger)."""
    witness_app = typer.Typer(
        no_args_is_help=True,
        help="Run a c2sp.org/tlog-witness for logs, make its key, print its verifier key "
        "(docs/formats/witness.md, docs/operations.md).",
    )
    app.add_typer(witness_app, name="witness")

    @witness_app.command("ask")
    def ask() -> None:
        """Ask this ledger's witnesses (LEDGER_WITNESSES) to cosign its latest checkpoint
        now, and wait for their answers. Exit status 1 unless the quorum has cosigned."""
        from ledger.cosigning import ask_all

        with instance() as opened:
            settings = opened.settings.witnesses
            if settings is None:
                raise ConfigError("no witnesses configured: set LEDGER_WITNESSES")
            results = ask_all(opened.ledger, settings)
            size = opened.ledger.checkpoint().size
            have = {c.witness for c in opened.ledger.store.cosignatures(size)}
        for result in results:
            detail = f" ({result.detail})" if result.detail else ""
            out.print(f"{result.witness}: {result.outcome}{detail}", markup=False)
        if len(have) < settings.quorum:
            raise LedgerError(
                f"checkpoint {size} has cosignatures from {len(have)} witnesses, "
                f"the quorum is {settings.quorum}"
            )
        out.print(f"checkpoint {size}: cosigned by {len(have)} of {len(settings.witnesses)}")

    @witness_app.command("keygen")
    def keygen(
        name: Annotated[str, typer.Option(help="Witness name, a schema-less URL.")],
        key: Annotated[Path, typer.Option(help="Private key file to create (never replaced).")],
    ) -> None:
        """Create a witness key (PKCS#8 PEM, mode 0600; encrypted if
        LEDGER_WITNESS_KEY_PASSPHRASE is set) and print its verifier key."""
        private = Ed25519PrivateKey.generate()
        try:
            vkey = Cosigner(name, private).key.vkey()
        except FormatError as exc:
            raise ConfigError(f"--name: {exc}") from exc
        write_private_file(key, encode_private_key(private, _passphrase()))
        out.print(vkey, markup=False, highlight=False)

    @witness_app.command("vkey")
    def vkey(config: Annotated[Path, typer.Option(help="Witness config file (TOML).")]) -> None:
        """Print the configured witness's verifier key (what clients put in their policy)."""
        loaded = WitnessConfig.load(config, passphrase=_passphrase())
        out.print(loaded.cosigner.key.vkey(), markup=False, highlight=False)

    @witness_app.command("serve")
    def serve(
        config: Annotated[Path, typer.Option(help="Witness config file (TOML).")],
        state: Annotated[Path, typer.Option(help="Directory of the latest checkpoint per log.")],
        listen: Annotated[str, typer.Option(help="HOST:PORT to serve on.")] = "127.0.0.1:7380",
        timeout: Annotated[
            float, typer.Option(help="Seconds a client may stay silent before it is cut off.")
        ] = DEFAULT_TIMEOUT,
        max_connections: Annotated[
            int, typer.Option(help="Connections served at once; more get 503.")
        ] = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        """Serve POST /add-checkpoint and GET /healthz until SIGTERM or SIGINT."""
        loaded = WitnessConfig.load(config, passphrase=_passphrase())
        host, port = _listen(listen)
        if timeout <= 0 or max_connections < 1:
            raise ConfigError("--timeout must be positive and --max-connections at least 1")
        server = make_server(
            host,
            port,
            Witness(loaded, WitnessState(state)),
            timeout=timeout,
            max_connections=max_connections,
        )
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

        def stop(signum: int, _frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        out.print(
            f"witness {loaded.cosigner.name} serving {len(loaded.logs)} log(s) on "
            f"http://{host}:{server.server_port}/add-checkpoint",
            markup=False,
            highlight=False,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
