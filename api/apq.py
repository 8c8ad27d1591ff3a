"""Automatic persisted queries (Apollo's APQ protocol, as Apollo Client, urql, gql and
most GraphQL clients send it).

A request may name its document by hash in ``extensions``::

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<64 hex>"}}}

over POST (JSON body) or GET (``extensions`` as a JSON query parameter). With the hash
alone the server runs the document it holds under that hash, or answers::

    {"errors":[{"message":"PersistedQueryNotFound","extensions":{"code":"PERSISTED_QUERY_NOT_FOUND"}}]}

and the client sends the hash again with the full ``query``; the server checks that the
query's SHA-256 (of its UTF-8 bytes, lower-case hex) is the hash, runs it, and keeps it
for the next time. A hash that is not the query's is refused (400, nothing kept), so no
client can make another's hash run a document of its choosing.

Each worker keeps at most ``size`` documents and ``max_bytes`` of query text, the least
recently used going first, and only documents that parse within the document limits
(``api.limits``): what the network sends never grows memory past those bounds.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping

from graphql import GraphQLError

from api.limits import parse_checked

NOT_FOUND = "PersistedQueryNotFound"
NOT_FOUND_CODE = "PERSISTED_QUERY_NOT_FOUND"
BAD_REQUEST = "BAD_REQUEST"
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
"""Query text a worker's cache holds at most, in bytes (UTF-8)."""
_HASH = re.compile(r"^[0-9a-fA-F]{64}$")


class PersistedQueryError(Exception):
    """A persisted-query request the server cannot run: ``status`` (when the response
    type does not decide it), ``message`` and ``code`` of the one error answered."""

    def __init__(self, message: str, code: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class PersistedQueries:
    """A bounded LRU map from SHA-256 hashes to the queries they are the hash of."""

    def __init__(self, size: int, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._queries: OrderedDict[str, str] = OrderedDict()
        self.hits = self.misses = self.registered = 0

    def __len__(self) -> int:
        return len(self._queries)

    def lookup(self, sha256_hash: str) -> str | None:
        """The query held under ``sha256_hash`` (lower-case hex), if any."""
        query = self._queries.get(sha256_hash)
        if query is not None:
            self._queries.move_to_end(sha256_hash)
        return query

    def resolve(self, query: str | None, extensions: Mapping[str, object] | None) -> str | None:
        """The query a request runs: its own ``query`` when it names no persisted query;
        else the one held under its hash (``PersistedQueryNotFound`` when none is), or
        its ``query`` once checked against the hash (then held)."""
        wanted = _requested_hash(extensions)
        if wanted is None:
            return query
        if query is None:
            held = self.lookup(wanted)
            if held is None:
                self.misses += 1
                raise PersistedQueryError(NOT_FOUND, NOT_FOUND_CODE, status=200)
            self.hits += 1
            return held
        if sha256_hex(query) != wanted:
            raise PersistedQueryError("provided sha does not match query", BAD_REQUEST, status=400)
        if wanted not in self._queries:
            self._keep(wanted, query)
        return query

    def _keep(self, sha256_hash: str, query: str) -> None:
        try:
            parse_checked(query)  # cached; a document over a limit or not GraphQL is not kept
        except GraphQLError:
            return
        cost = len(query.encode("utf-8"))
        if cost > self.max_bytes:
            return
        self._queries[sha256_hash] = query
        self.bytes += cost
        self.registered += 1
        while len(self._queries) > self.size or self.bytes > self.max_bytes:
            _, dropped = self._queries.popitem(last=False)
            self.bytes -= len(dropped.encode("utf-8"))


def sha256_hex(query: str) -> str | None:
    """The APQ hash of ``query``: SHA-256 of its UTF-8 bytes, lower-case hex (None for a
    string no UTF-8 encodes: a lone surrogate)."""
    try:
        data = query.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return hashlib.sha256(data).hexdigest()


def _requested_hash(extensions: Mapping[str, object] | None) -> str | None:
    """The hash ``extensions.persistedQuery`` names (lower case), None when it names none;
    a malformed one is refused."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, Mapping):
        raise PersistedQueryError(
            "extensions.persistedQuery must be an object", BAD_REQUEST, status=400
        )
    version = persisted.get("version")
    if version != 1 or isinstance(version, bool):
        raise PersistedQueryError(
            "Unsupported persisted query version: only version 1 is", BAD_REQUEST, status=400
        )
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _HASH.match(sha):
        raise PersistedQueryError(
            "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits",
            BAD_REQUEST,
            status=400,
        )
    return sha.lower()


def requested_hash(body: Mapping[str, object]) -> str | None:
    """The persisted-query hash a decoded request body names, if well-formed (else None)."""
    extensions = body.get("extensions")
    if not isinstance(extensions, Mapping):
        return None
    try:
        return _requested_hash(extensions)
    except PersistedQueryError:
        return None
