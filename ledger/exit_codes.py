"""The exit statuses of every ``claims-ledger`` command, in one place (docs/cli.md).

A script tells the outcomes apart by number alone:

====  ===================  ============================================================
code  name                 meaning
====  ===================  ============================================================
0     OK                   done; for a verifying command: everything verified
1     REFUSED              the ledger refused or failed the request (input refused,
                           conflict, duplicate, unauthorized, or an internal error)
2     VERIFICATION_FAILED  something did not verify (hash, signature, proof, rule,
                           checkpoint, cosignature quorum, malformed signed bytes)
3     NOT_FOUND            the claim, source, key or entry named is not in the ledger
                           (a missing local file is refused input: 1)
4     USAGE                the command line is wrong (unknown option, bad value,
                           malformed or ambiguous id, limit out of range)
5     UNAVAILABLE          the database or server could not be reached, or timed out
====  ===================  ============================================================

2 stays "verification failed" because ``claims-ledger verify`` and ``claims-ledger
client`` promised it before this table existed; usage errors therefore use 4, not
click's default 2 (``ledger.cli.main`` maps them).
"""

from __future__ import annotations

from typing import Final

from ledger.errors import NotFound, TimedOut, Unavailable, UsageError, VerificationError

OK: Final = 0
REFUSED: Final = 1
VERIFICATION_FAILED: Final = 2
NOT_FOUND: Final = 3
USAGE: Final = 4
UNAVAILABLE: Final = 5

NAMES: Final[dict[int, str]] = {
    OK: "ok",
    REFUSED: "refused",
    VERIFICATION_FAILED: "verification failed",
    NOT_FOUND: "not found",
    USAGE: "usage",
    UNAVAILABLE: "unavailable",
}


def for_error(exc: BaseException) -> int:
    """The exit status for an error the ledger raised on purpose (REFUSED for anything else
    that is a ``LedgerError``)."""
    if isinstance(exc, VerificationError):
        return VERIFICATION_FAILED
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, UsageError):
        return USAGE
    if isinstance(exc, Unavailable | TimedOut):
        return UNAVAILABLE
    return REFUSED
