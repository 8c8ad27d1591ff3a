"""How a mutation's expected failures reach the client (docs/api.md, "Writing: tokens and
mutations"), and that a mutation starting past the request's deadline runs nothing.
In-process: no server is needed to check the translation itself."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from graphql import GraphQLError

from api import mutations as m
from ledger.deadline import Deadline
from ledger.errors import (
    Conflict,
    Duplicate,
    InvalidInput,
    LedgerError,
    NotFound,
    SignatureError,
    StorageError,
    TimedOut,
    Unauthorized,
)


@pytest.mark.parametrize(
    ("error", "member"),
    [
        (NotFound("no claim c1"), m.NotFoundError),
        (Duplicate("source s is already registered"), m.DuplicateError),
        (Conflict("claim c1 moved on"), m.StaleRevisionError),
        (SignatureError("bad signature"), m.InvalidSignatureError),
        (InvalidInput("give exactly one of text or url"), m.InvalidInputError),
    ],
)
def test_an_expected_failure_is_its_union_member_with_the_message(
    error: LedgerError, member: type
) -> None:
    result = m._run(_info(None), lambda: _raise(error))
    assert type(result) is member
    assert result.message == str(error)  # type: ignore[attr-defined]


def test_unauthorized_is_a_forbidden_error_and_the_unexpected_propagate() -> None:
    with pytest.raises(GraphQLError) as forbidden:
        m._run(_info(None), lambda: _raise(Unauthorized("lacks the writer role")))
    assert forbidden.value.extensions == {"code": "FORBIDDEN"}
    with pytest.raises(StorageError):
        m._run(_info(None), lambda: _raise(StorageError("disk full")))


def test_a_mutation_starting_past_the_deadline_runs_nothing() -> None:
    now = [0.0]
    deadline = Deadline(1.0, clock=lambda: now[0])
    deadline.suspend()  # an earlier mutation in the document committed
    now[0] = 2.0
    ran: list[bool] = []
    with pytest.raises(TimedOut):
        m._run(_info(deadline), lambda: ran.append(True))
    assert ran == []
    now[0] = 0.5
    assert m._run(_info(Deadline(1.0, clock=lambda: now[0])), lambda: "done") == "done"


def _info(deadline: Deadline | None) -> Any:
    return SimpleNamespace(context=SimpleNamespace(deadline=deadline))


def _raise(error: Exception) -> Any:
    raise error
