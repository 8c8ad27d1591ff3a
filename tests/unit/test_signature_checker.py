"""Signatures checked on worker processes: all verified, the first bad one reported in order."""

from __future__ import annotations

import pytest

from ledger.errors import SignatureError
from ledger.signing import SigningKey
from ledger.verify import SignatureChecker

KEY = SigningKey.generate("k")


def _jobs(n: int, bad: set[int]) -> list[tuple[int, bytes, bytes, bytes]]:
    jobs = []
    for seq in range(n):
        body = f"body {seq}".encode()
        signature = KEY.sign_entry(body if seq not in bad else b"other")
        jobs.append((seq, KEY.public_key, body, signature))
    return jobs


@pytest.mark.parametrize("workers", [0, 2])
def test_all_good_signatures_pass(workers: int) -> None:
    with SignatureChecker(workers=workers, chunk=7) as checker:
        for job in _jobs(60, set()):
            checker.submit(*job)
        checker.drain()


@pytest.mark.parametrize("workers", [0, 2])
def test_the_first_bad_signature_in_log_order_is_reported(workers: int) -> None:
    with (
        pytest.raises(SignatureError, match="entry 23") as info,
        SignatureChecker(workers=workers, chunk=7) as checker,
    ):
        for job in _jobs(60, {23, 41}):
            checker.submit(*job)
        checker.drain()
    assert info.value.seq == 23
