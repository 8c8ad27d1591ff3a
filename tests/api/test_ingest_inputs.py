"""ingestSource(url:) over real HTTP: only http(s) URLs are fetched; a path, ``~``, a
relative name, ``file:`` or any other scheme is an InvalidInputError, nothing on the
server is opened, and nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

from tests.api.conftest import Served, gql, post

INGEST = """mutation($target: String!) { ingestSource(url: $target) { __typename
  ... on InvalidInputError { message } ... on SourceIngested { source { sha256 } } } }"""
COUNTS = "{ checkpoint { size } sources(first: 50) { edges { node { sha256 } } } }"


def test_paths_and_other_schemes_are_refused_and_nothing_is_read_or_written(
    served: Served, tmp_path: Path
) -> None:
    keys = served.home / "keys"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opened, it would hang the worker that reads it
    forms = [
        str(keys / "log.key.pem"),  # the log's private key
        str(keys / "ingest.key.pem"),
        f"file://{keys / 'log.key.pem'}",
        f"FILE:{keys / 'log.key.pem'}",
        "gopher://127.0.0.1:70/1/",
        "ftp://127.0.0.1/pub/article.html",
        "README.md",  # relative to the server's working directory, where it exists
        "./README.md",
        "~/.bashrc",
        "/dev/zero",
        "/proc/self/environ",
        str(fifo),
        " http://example.com/",  # not a URL once it does not start with the scheme
        "",
    ]
    before = gql(served.url, COUNTS)
    for form in forms:
        body = post(served.url, INGEST, served.tokens["writer"], target=form)
        assert "errors" not in body, (form, body)
        result = body["data"]["ingestSource"]
        assert result["__typename"] == "InvalidInputError", (form, result)
        assert "only http(s) URLs can be fetched" in result["message"], (form, result)
    assert gql(served.url, COUNTS) == before


def test_an_http_url_still_goes_to_the_fetcher(served: Served) -> None:
    before = gql(served.url, COUNTS)
    body = post(served.url, INGEST, served.tokens["writer"], target="http://127.0.0.1:9/article")
    result = body["data"]["ingestSource"]
    assert result["__typename"] == "InvalidInputError"
    assert "127.0.0.1 is not a public address" in result["message"]
    assert gql(served.url, COUNTS) == before
