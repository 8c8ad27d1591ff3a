"""Round trips of the server's line formats, whatever the text: a server-sent event
read back by a parser that follows the WHATWG event-stream rules gives back its data;
an access log line is one line of JSON giving back its fields."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from api.access_log import line
from api.events import encode

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
)


def parse_event_stream(stream: str) -> list[tuple[str | None, str, str]]:
    """(id, event, data) per dispatched event: lines end at CR, LF or CRLF; a field's
    value loses one leading space; ``data`` lines join with LF (WHATWG HTML §9.2.6)."""
    events = []
    event_id: str | None = None
    kind, data = "", []
    for raw in stream.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw == "":
            if data:
                events.append((event_id, kind or "message", "\n".join(data)))
            kind, data = "", []
            continue
        if raw.startswith(":"):
            continue
        name, _, value = raw.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id":
            event_id = value
    return events


@given(TEXT, st.integers(0, 2**63 - 1), JSON_VALUE)
def test_an_event_reads_back(note: str, size: int, extra: object) -> None:
    payload = {"size": size, "note": note, "extra": extra}
    stream = encode("checkpoint", payload, size).decode("ascii")
    [(event_id, kind, data)] = parse_event_stream(stream)
    assert (event_id, kind) == (str(size), "checkpoint")
    assert json.loads(data) == payload


@given(st.lists(st.tuples(st.integers(0, 10**9), TEXT), max_size=5))
def test_events_one_after_another_stay_apart(items: list[tuple[int, str]]) -> None:
    stream = b"retry: 2000\n\n" + b"".join(
        encode("claim", {"claimId": text}, seq + 1) for seq, text in items
    )
    parsed = parse_event_stream(stream.decode("ascii"))
    assert [(int(i or 0) - 1, json.loads(d)["claimId"]) for i, _, d in parsed] == items


@given(TEXT, st.none() | TEXT, st.integers(100, 599), st.floats(0, 1e6), st.integers(0, 2**40))
def test_an_access_line_is_one_line_of_json(
    path: str, operation: str | None, status: int, seconds: float, size: int
) -> None:
    text = line(
        method="GET",
        path=path,
        operation=operation,
        status=status,
        seconds=seconds,
        size=size,
        client="::1",
        errors=["BAD_USER_INPUT"],
    )
    assert "\n" not in text and "\r" not in text and text.isascii()
    record = json.loads(text)
    assert (record["path"], record["operation"], record["status"]) == (path, operation, status)
    assert record["bytes"] == size and record["duration_ms"] == round(seconds * 1000, 2)
