"""The one root error of claims-ledger and its meaningful subclasses.

Every failure the ledger raises on purpose is a ``LedgerError``; callers that
want to catch "anything the ledger refused" catch that one type.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose."""


class ConfigError(LedgerError):
    """A setting is missing or malformed (names the setting)."""


class SigningNotConfigured(ConfigError):
    """Something must be signed and this process holds no key to sign it with (reading
    needs none)."""


class InvalidInput(LedgerError):
    """Input was refused before anything was written (names the field or file)."""


class UsageError(InvalidInput):
    """A value given by hand is malformed or ambiguous: an id that is no id, a prefix that
    matches several, a limit out of range (the command line's exit status 4)."""


class FormatError(InvalidInput):
    """Bytes that should follow a documented format do not (names the format and where)."""


class SigningKeyError(LedgerError):
    """A key could not be created, loaded, found or used."""


class NotFound(LedgerError):
    """The thing asked for is not in the ledger."""


class Conflict(LedgerError):
    """The write raced another one or names a state that is no longer current."""


class Duplicate(Conflict):
    """The same thing is already in the ledger; nothing was added."""


class Unauthorized(LedgerError):
    """The signer is not allowed to write this entry at this point in the log."""


class VerificationError(LedgerError):
    """A check failed. The message names what failed and where (sequence number, index)."""

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class SignatureError(VerificationError):
    """A signature does not verify under the key that was valid at that point."""


class ProofError(VerificationError):
    """A Merkle inclusion or consistency proof does not verify."""


class StateMapProofError(ProofError):
    """A claim-state map proof (membership or absence) does not verify; names the key and
    the depth where the path ends."""

    def __init__(self, message: str, *, key: bytes | None = None, depth: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.depth = depth


class IntegrityError(VerificationError):
    """Stored data disagrees with what the log implies (hashes, links, projections)."""


class StorageError(LedgerError):
    """The database refused or failed an operation."""


class Unavailable(StorageError):
    """The database or a server could not be reached; the message names which and how to
    fix it (the command line's exit status 5)."""


class TimedOut(LedgerError):
    """The work ran past its deadline and was stopped; a write that timed out wrote nothing."""


class UnknownLog(NotFound):
    """A witness is asked about a log (origin) it is not configured for."""


class TreeSizeConflict(Conflict):
    """A witness holds another checkpoint for the log than the request assumes: the old
    size is not the size it last cosigned, or a checkpoint of that size has another root.
    ``size`` is the size of the checkpoint the witness holds (0 if none)."""

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class ForkedCheckpoint(TreeSizeConflict):
    """A validly signed checkpoint of the size a witness holds, with another root hash:
    evidence that the log shows two histories."""


class QuorumNotMet(VerificationError):
    """Fewer distinct trusted witnesses cosigned a checkpoint than the policy requires.
    ``missing``: the vkey names (``name+key ID``) of the policy witnesses without a valid
    cosignature; ``needed``: how many more of them would meet the quorum."""

    def __init__(self, message: str, *, missing: tuple[str, ...] = (), needed: int = 0) -> None:
        super().__init__(message)
        self.missing = missing
        self.needed = needed
