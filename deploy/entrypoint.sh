#!/bin/sh
# Entry point of the claims-ledger container (Containerfile); also usable as is elsewhere.
#
# No arguments: serve the API on LEDGER_LISTEN_HOST:LEDGER_LISTEN_PORT (0.0.0.0:8000)
# with LEDGER_WORKERS workers (2). Arguments: run that claims-ledger command instead
# (`verify`, `status`, `tokens create …`).
#
# The key passphrase comes from, in order: LEDGER_KEY_PASSPHRASE_FILE or
# LEDGER_KEY_PASSPHRASE if set; else the secret file $LEDGER_SECRETS_DIR/ledger_key_passphrase
# (default /run/secrets, where Docker, Podman and Kubernetes mount secrets) if it exists;
# else none: a worker then serves queries only (docs/operations.md).
set -eu

: "${LEDGER_HOME:=/var/lib/claims-ledger}"
export LEDGER_HOME

if [ -z "${LEDGER_KEY_PASSPHRASE_FILE:-}" ] && [ -z "${LEDGER_KEY_PASSPHRASE:-}" ]; then
    secret="${LEDGER_SECRETS_DIR:-/run/secrets}/ledger_key_passphrase"
    if [ -r "$secret" ]; then
        LEDGER_KEY_PASSPHRASE_FILE="$secret"
        export LEDGER_KEY_PASSPHRASE_FILE
    fi
fi

if [ "$#" -eq 0 ]; then
    set -- serve \
        --host "${LEDGER_LISTEN_HOST:-0.0.0.0}" \
        --port "${LEDGER_LISTEN_PORT:-8000}" \
        --workers "${LEDGER_WORKERS:-2}"
fi

# exec: the server is PID 1's direct child (or PID 1), so SIGTERM reaches it.
exec claims-ledger "$@"
