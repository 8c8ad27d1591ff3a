"""An independent verifier for a claims-ledger server, written from the published docs only.

    python independent_verifier.py URL VKEY [--witness WVKEY ...]

URL is the server (http://127.0.0.1:8000), VKEY the log's verifier key in note format
(`<origin>+<key ID>+<base64>`), entry 0's log key or one a `log.key.rotated` entry handed
the log over to. Everything is fetched over HTTP (GraphQL at /graphql, /checkpoint and
/sources/<sha256>/raw) and checked here, with nothing but the standard library,
`cryptography` and `httpx`; nothing the server computed is believed:

- every entry's bytes (framing, RFC 8785 canonical body, fields), hash chain, sequence,
  origin, timestamps, versions, and Ed25519 signature under a key valid at that entry
  (registrations, revocations, log key rotations), and the rules of docs/formats/entries.md;
- the RFC 9162 tree: the root recomputed at every checkpoint the server has, each note's
  signature under the log key at its last entry (and witness cosignatures with --witness),
  every entry's inclusion proof at the head, consistency proofs between checkpoints;
- the claim-state map root on every checkpoint's `claims-ledger/state-map/v1` line,
  replayed from the entries, and state proofs (membership of every claim and source,
  absence of ids the log never held);
- every claim, source and key GraphQL serves against the signed entries (each claim's
  provenance chain and history included), and no claim or source missing;
- each source's raw bytes against its signed SHA-256 and size, its text against
  `text_sha256` (recomputed from the bytes for plain text), every quote by the selector rule.

Exit status 0: verified; 2: verification failed (the message names what and where);
5: the server could not be read.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import re
import sys
import unicodedata
from datetime import date, datetime
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_SAFE = 2**53 - 1
HEX64 = re.compile(r"[0-9a-f]{64}")
TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")
EMPTY = bytes(32)
SEED_HEADER = re.compile(r"\A\s*date\s+(\S+)\s+")


class Failed(Exception):
    """Verification failed; the message names what and where."""


class Unavailable(Exception):
    """The server could not be read."""


def need(ok: object, message: str) -> None:
    if not ok:
        raise Failed(message)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b64(text: str, size: int | None, what: str) -> bytes:
    """Standard, canonical base64 (RFC 4648 §4), of `size` bytes when given."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise Failed(f"{what}: not base64") from None
    need(base64.b64encode(raw).decode() == text, f"{what}: non-canonical base64")
    need(size is None or len(raw) == size, f"{what}: {len(raw)} bytes, not {size}")
    return raw


def ed25519_ok(public: bytes, sig: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
        return True
    except (InvalidSignature, ValueError):
        return False


# --- RFC 8785 within the entry format's domain (docs/formats/entries.md) -------------


def canonical(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        need(abs(value) <= MAX_SAFE, f"integer {value} out of range")
        return str(value)
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            code = ord(ch)
            need(not 0xD800 <= code <= 0xDFFF, "lone surrogate in a string")
            if ch in '"\\':
                out.append("\\" + ch)
            elif ch in "\b\t\n\f\r":
                out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
            elif code < 0x20:
                out.append(f"\\u{code:04x}")
            else:
                out.append(ch)
        return "".join(out) + '"'
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        need(all(k.isascii() for k in value), "a non-ASCII object key")
        return "{" + ",".join(canonical(k) + ":" + canonical(value[k]) for k in sorted(value)) + "}"
    raise Failed(f"a {type(value).__name__} value (no floats in a body)")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    need(len(set(keys)) == len(keys), "a duplicate object key")
    return dict(pairs)


def _no_float(text: str) -> Any:
    raise Failed(f"a float ({text}) in a body")


def parse_entry(data: bytes, seq: int) -> tuple[dict[str, Any], bytes, bytes]:
    """Framing and canonical form: returns (body, body bytes, signature)."""
    where = f"entry {seq}"
    need(len(data) <= 1 << 20, f"{where}: longer than 1 MiB")
    need(data.startswith(b'{"body":') and data.endswith(b'"}'), f"{where}: bad framing")
    need(data[-98:-90] == b',"sig":"', f"{where}: bad framing before the signature")
    body_bytes, sig = data[8:-98], b64(data[-90:-2].decode("ascii", "replace"), 64, f"{where}: sig")
    try:
        body = json.loads(
            body_bytes.decode("utf-8"),
            object_pairs_hook=_pairs,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise Failed(f"{where}: body is not JSON ({exc})") from None
    except Failed as exc:
        raise Failed(f"{where}: {exc}") from None
    try:
        again = canonical(body).encode("utf-8")
    except (Failed, UnicodeEncodeError) as exc:
        raise Failed(f"{where}: {exc}") from None
    need(again == body_bytes, f"{where}: body is not in canonical form (RFC 8785)")
    return body, body_bytes, sig


# --- field checks (docs/formats/entries.md, Payloads) --------------------------------


def _day(v: object) -> bool:
    if not (isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)):
        return False
    try:
        return date.fromisoformat(v).isoformat() == v
    except ValueError:
        return False


def _ts(v: object) -> bool:
    if not (isinstance(v, str) and TS.fullmatch(v)):
        return False
    try:
        datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%fZ")
        return True
    except ValueError:
        return False


def _str(v: object, most: int, null: bool = False) -> bool:
    if v is None:
        return null
    return isinstance(v, str) and 0 < len(v) <= most and "\x00" not in v


def _int(v: object, lo: int, hi: int, null: bool = False) -> bool:
    if v is None:
        return null
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _hex(v: object) -> bool:
    return isinstance(v, str) and HEX64.fullmatch(v) is not None


def fields(obj: object, names: set[str], where: str, optional: set[str] = frozenset()) -> dict:  # type: ignore[assignment]
    need(isinstance(obj, dict), f"{where}: not an object")
    assert isinstance(obj, dict)
    have = set(obj)
    need(
        names <= have <= names | optional,
        f"{where}: fields {sorted(have)}, expected {sorted(names)}",
    )
    return obj


def check_party(p: object, v: int, where: str, cited: bool = False) -> None:
    names = {"name", "role", "affiliation"} | ({"kind"} if v >= 2 else set())
    names |= {"cites"} if v >= 2 and not cited else set()
    p = fields(p, names, where)
    for f in ("name", "role", "affiliation"):
        need(_str(p[f], 2000, null=True), f"{where}.{f}: malformed")
    if v >= 2:
        need(p["kind"] in (None, "person", "organization", "document"), f"{where}.kind: malformed")
    if cited:
        need(
            any(p[f] is not None for f in ("name", "role", "affiliation")),
            f"{where}: names nothing",
        )
    elif v >= 2:
        need(isinstance(p["cites"], list) and len(p["cites"]) <= 8, f"{where}.cites: malformed")
        for i, c in enumerate(p["cites"]):
            check_party(c, v, f"{where}.cites.{i}", cited=True)


def check_quantities(qs: object, v: int, where: str) -> None:
    need(isinstance(qs, list), f"{where}: not a list")
    assert isinstance(qs, list)
    for i, q in enumerate(qs):
        w = f"{where}.{i}"
        if v >= 2:
            q = fields(q, {"value", "unit", "bound", "high", "text"}, w)
            bounds = ("exact", "approximate", "at_least", "more_than", "at_most", "less_than")
            need(q["bound"] in bounds, f"{w}.bound: malformed")
            if q["high"] is not None:
                need(
                    isinstance(q["high"], str) and DECIMAL.fullmatch(q["high"]),
                    f"{w}.high: malformed",
                )
                need(float(q["high"]) > float(q["value"]), f"{w}.high: not above value")
        else:
            q = fields(q, {"value", "unit", "approximate", "text"}, w)
            need(isinstance(q["approximate"], bool), f"{w}.approximate: malformed")
        need(isinstance(q["value"], str) and DECIMAL.fullmatch(q["value"]), f"{w}.value: malformed")
        need(
            _str(q["unit"], 2000, null=True) and _str(q["text"], 2000),
            f"{w}: unit or text malformed",
        )


def check_date_pair(p: dict, v: int, where: str, changes: bool = False) -> None:
    need(p["made_on"] is None or _day(p["made_on"]), f"{where}.made_on: not a real day")
    if v < 2:
        return
    prec = p["made_on_precision"]
    need((prec is None) == (p["made_on"] is None), f"{where}: made_on and made_on_precision")
    need(prec in (None, "day", "month", "year"), f"{where}.made_on_precision: malformed")
    if prec == "month":
        need(p["made_on"].endswith("-01"), f"{where}.made_on: a month is its first day")
    if prec == "year":
        need(p["made_on"].endswith("-01-01"), f"{where}.made_on: a year is its January 1")


def check_payload(kind: str, v: int, p: object, where: str) -> dict:
    w = f"{where}: payload"
    if kind == "key.registered":
        p = fields(p, {"key_id", "name", "algorithm", "public_key", "roles"}, w)
        need(
            isinstance(p["roles"], list) and set(p["roles"]) <= {"admin", "writer", "reviewer"},
            f"{w}.roles",
        )
    elif kind == "log.key.rotated":
        need(v >= 2, f"{where}: log.key.rotated exists from version 2 on")
        p = fields(p, {"key_id", "name", "algorithm", "public_key", "reason", "accept"}, w)
        b64(p["accept"], 64, f"{w}.accept")
        need(_str(p["reason"], 2000), f"{w}.reason")
    elif kind == "key.revoked":
        p = fields(p, {"key_id", "reason"}, w)
        need(_hex(p["key_id"]) and _str(p["reason"], 2000), f"{w}: malformed")
    elif kind == "source.registered":
        names = {"sha256", "text_sha256", "size", "media_type", "uri", "title", "publisher"}
        p = fields(p, names | {"published", "retrieved_at"}, w)
        need(_hex(p["sha256"]) and _hex(p["text_sha256"]), f"{w}: hashes")
        need(
            _int(p["size"], 1, MAX_SAFE) and _str(p["media_type"], 2000), f"{w}: size or media_type"
        )
        for f in ("uri", "title", "publisher"):
            need(_str(p[f], 2000, null=True), f"{w}.{f}: malformed")
        need(p["published"] is None or _day(p["published"]), f"{w}.published: not a real day")
        need(p["retrieved_at"] is None or _ts(p["retrieved_at"]), f"{w}.retrieved_at: malformed")
    elif kind == "claim.extracted":
        names = {"source", "source_sha256", "statement", "selector", "claimant", "reporting"}
        names |= {"made_on", "quantities", "score", "extractor"} | (
            {"made_on_precision"} if v >= 2 else set()
        )
        p = fields(p, names, w)
        need(_hex(p["source"]) and _hex(p["source_sha256"]), f"{w}: source hashes")
        need(_str(p["statement"], 100_000), f"{w}.statement")
        s = fields(p["selector"], {"exact", "prefix", "suffix", "start", "end"}, f"{w}.selector")
        need(_str(s["exact"], 100_000) and _int(s["start"], 0, MAX_SAFE), f"{w}.selector")
        need(
            _int(s["end"], 0, MAX_SAFE) and s["end"] - s["start"] == len(s["exact"]),
            f"{w}.selector: end",
        )
        for f in ("prefix", "suffix"):
            need(
                isinstance(s[f], str) and len(s[f]) <= 32 and "\x00" not in s[f],
                f"{w}.selector.{f}",
            )
        check_party(p["claimant"], v, f"{w}.claimant")
        need(p["reporting"] in ("direct_quote", "reported_speech", "assertion"), f"{w}.reporting")
        check_date_pair(p, v, w)
        check_quantities(p["quantities"], v, f"{w}.quantities")
        need(_int(p["score"], 0, 1000), f"{w}.score")
        e = fields(p["extractor"], {"name", "version", "rules_sha256"}, f"{w}.extractor")
        need(
            _str(e["name"], 2000) and _str(e["version"], 2000) and _hex(e["rules_sha256"]),
            f"{w}.extractor",
        )
    elif kind in ("claim.revised", "claim.retracted", "claim.reviewed"):
        extra = {"claim.revised": {"changes", "reason"}, "claim.retracted": {"reason"}}
        extra["claim.reviewed"] = {"rating", "note", "url"}
        opt = {"reviewer"} if kind == "claim.reviewed" else set()
        p = fields(p, {"claim", "follows"} | extra[kind], w, opt)
        need(_hex(p["claim"]) and _hex(p["follows"]), f"{w}: claim or follows")
        if "reason" in p:
            need(_str(p["reason"], 2000), f"{w}.reason")
        if kind == "claim.revised":
            names = {"statement", "claimant", "reporting", "made_on", "quantities"}
            c = fields(
                p["changes"], names | ({"made_on_precision"} if v >= 2 else set()), f"{w}.changes"
            )
            need(any(x is not None for x in c.values()), f"{w}.changes: nothing set")
            need(c["statement"] is None or _str(c["statement"], 100_000), f"{w}.changes.statement")
            if c["claimant"] is not None:
                check_party(c["claimant"], v, f"{w}.changes.claimant")
            need(
                c["reporting"] in (None, "direct_quote", "reported_speech", "assertion"),
                f"{w}.changes",
            )
            check_date_pair(c, v, f"{w}.changes")
            if c["quantities"] is not None:
                check_quantities(c["quantities"], v, f"{w}.changes.quantities")
        if kind == "claim.reviewed":
            r = fields(p["rating"], {"textual", "value", "best", "worst"}, f"{w}.rating")
            need(_str(r["textual"], 2000), f"{w}.rating.textual")
            for f in ("value", "best", "worst"):
                need(_int(r[f], -MAX_SAFE, MAX_SAFE, null=True), f"{w}.rating.{f}")
            need(
                _str(p["note"], 100_000, null=True) and _str(p["url"], 2000, null=True),
                f"{w}: note/url",
            )
            if "reviewer" in p:
                rv = fields(p["reviewer"], {"name", "type", "url"}, f"{w}.reviewer")
                need(
                    _str(rv["name"], 200) and rv["type"] in ("Person", "Organization"),
                    f"{w}.reviewer",
                )
                url = rv["url"]
                need(
                    url is None or (_str(url, 2000) and re.match(r"https?://[^/\s]", url)),
                    f"{w}.reviewer.url",
                )
    elif kind in ("claimant.linked", "claimant.unlinked"):
        p = fields(p, {"a", "b", "reason"}, w)
        need(_hex(p["a"]) and _hex(p["b"]) and _str(p["reason"], 2000), f"{w}: malformed")
    else:
        raise Failed(f"{where}: unknown kind {kind!r}")
    if kind in ("key.registered", "log.key.rotated"):
        need(_str(p["name"], 2000) and p["algorithm"] == "ed25519", f"{w}: name or algorithm")
        raw = b64(p["public_key"], 32, f"{w}.public_key")
        need(sha256(raw).hex() == p["key_id"], f"{w}: key_id is not the SHA-256 of public_key")
    return p


# --- claims: folding entries into their state (version 2 shape) ----------------------


def as_v2_party(p: dict, v: int) -> dict:
    return p if v >= 2 else dict(p, kind=None, cites=[])


def as_v2_quantities(qs: list, v: int) -> list:
    if v >= 2:
        return qs
    out = []
    for q in qs:
        bound = "approximate" if q["approximate"] else "exact"
        out.append(
            {
                "value": q["value"],
                "unit": q["unit"],
                "bound": bound,
                "high": None,
                "text": q["text"],
            }
        )
    return out


# --- the log walk ---------------------------------------------------------------------


ROLE_FOR = {
    "key.registered": "admin",
    "key.revoked": "admin",
    "log.key.rotated": "admin",
    "source.registered": "writer",
    "claim.extracted": "writer",
    "claim.revised": "writer",
    "claim.retracted": "writer",
    "claim.reviewed": "reviewer",
    "claimant.linked": "reviewer",
    "claimant.unlinked": "reviewer",
}


class Log:
    """Every entry walked in order, with the state the rules need."""

    def __init__(self) -> None:
        self.leaves: list[bytes] = []
        self.bodies: list[dict] = []
        self.keys: dict[str, dict] = {}  # key id -> {public, name, roles, registered, revoked}
        self.names: set[str] = set()
        self.log_keys: list[tuple[int, str]] = []  # (registered at seq, key id), in order
        self.sources: dict[str, dict] = {}  # sha256 -> {entry, seq, payload}
        self.source_by_entry: dict[str, str] = {}
        self.claims: dict[str, dict] = {}  # claim id -> state
        self.map_writes: list[tuple[bytes, bytes] | None] = []
        self.origin = ""

    def log_key_at(self, seq: int) -> str:
        """The log key at entry `seq` (it signs the checkpoint of size seq + 1)."""
        current = self.log_keys[0][1]
        for at, key_id in self.log_keys[1:]:
            if at < seq:
                current = key_id
        return current

    def add(self, data: bytes) -> None:
        seq = len(self.leaves)
        where = f"entry {seq}"
        body, body_bytes, sig = parse_entry(data, seq)
        fields(
            body, {"v", "log", "seq", "prev", "ts", "kind", "signer", "payload"}, f"{where}: body"
        )
        v, kind, signer = body["v"], body["kind"], body["signer"]
        need(v in (1, 2), f"{where}: format version {v!r}")
        need(body["seq"] == seq, f"{where}: its body says seq {body['seq']}")
        need(isinstance(kind, str) and kind in ROLE_FOR, f"{where}: unknown kind {kind!r}")
        need(_hex(signer) and _ts(body["ts"]), f"{where}: signer or ts malformed")
        need(_str(body["log"], 2000), f"{where}: log malformed")
        if seq == 0:
            need(body["prev"] is None, "entry 0: prev is not null")
            self.origin = body["log"]
        else:
            last = self.bodies[-1]
            need(
                body["prev"] == self.leaves[-1].hex(),
                f"{where}: prev is not the hash of entry {seq - 1}",
            )
            need(body["log"] == self.origin, f"{where}: log {body['log']!r} is not {self.origin!r}")
            need(body["ts"] >= last["ts"], f"{where}: ts goes back before entry {seq - 1}'s")
            need(v >= last["v"], f"{where}: format version goes down")
        p = check_payload(kind, v, body["payload"], where)
        # who may sign (rules 2-5)
        if seq == 0:
            need(
                kind == "key.registered" and p["key_id"] == signer,
                "entry 0: not the log key registering itself",
            )
            need("admin" in p["roles"], "entry 0: the log key lacks the admin role")
            self._register(p, 0, list(p["roles"]), where)
            self.log_keys.append((0, signer))
        key = self.keys.get(signer)
        need(key is not None, f"{where}: signer {signer} is not a registered key")
        assert key is not None
        need(
            key["registered"] < seq or seq == 0,
            f"{where}: signer {key['name']} is not registered yet",
        )
        need(
            key["revoked"] is None or seq <= key["revoked"],
            f"{where}: signer {key['name']} was revoked at entry {key['revoked']}",
        )
        role = ROLE_FOR[kind]
        self_revoke = kind == "key.revoked" and p["key_id"] == signer
        need(
            self_revoke or role in key["roles"],
            f"{where}: signer {key['name']} lacks the {role} role for {kind}",
        )
        if kind == "log.key.rotated":
            need(
                signer == self.log_key_at(seq),
                f"{where}: a rotation signed by a key that is not the log key",
            )
        need(
            ed25519_ok(key["public"], sig, b"claims-ledger/entry/v1\n" + body_bytes),
            f"{where}: signature does not verify under the signer's key ({key['name']})",
        )
        leaf = sha256(b"\x00" + data)
        self._apply(seq, body, p, leaf, where)
        self.leaves.append(leaf)
        self.bodies.append(body)

    def _register(self, p: dict, seq: int, roles: list[str], where: str) -> None:
        need(p["key_id"] not in self.keys, f"{where}: key {p['key_id']} is registered twice")
        need(p["name"] not in self.names, f"{where}: key name {p['name']!r} is registered twice")
        self.names.add(p["name"])
        public = base64.b64decode(p["public_key"])
        self.keys[p["key_id"]] = {
            "public": public,
            "name": p["name"],
            "roles": roles,
            "registered": seq,
            "revoked": None,
            "reason": None,
        }

    def _apply(self, seq: int, body: dict, p: dict, leaf: bytes, where: str) -> None:
        kind, v = body["kind"], body["v"]
        write: tuple[bytes, bytes] | None = None
        if kind == "key.registered" and seq > 0:
            self._register(p, seq, list(p["roles"]), where)
        elif kind == "key.revoked":
            k = self.keys.get(p["key_id"])
            need(k is not None, f"{where}: revokes an unknown key {p['key_id']}")
            assert k is not None
            need(k["revoked"] is None, f"{where}: key {k['name']} is revoked twice")
            k["revoked"], k["reason"] = seq, p["reason"]
        elif kind == "log.key.rotated":
            unsigned = dict(body, payload={k: x for k, x in p.items() if k != "accept"})
            message = b"claims-ledger/log-key-rotation/v1\n" + canonical(unsigned).encode()
            public = base64.b64decode(p["public_key"])
            need(
                ed25519_ok(public, base64.b64decode(p["accept"]), message),
                f"{where}: the new key's accept does not verify",
            )
            self._register(p, seq, ["admin", "writer", "reviewer", "log"], where)
            old = self.keys[body["signer"]]
            old["revoked"], old["reason"] = seq, p["reason"]
            self.log_keys.append((seq, p["key_id"]))
        elif kind == "source.registered":
            need(
                p["sha256"] not in self.sources,
                f"{where}: source {p['sha256']} is registered twice",
            )
            self.sources[p["sha256"]] = {
                "entry": leaf.hex(),
                "seq": seq,
                "payload": p,
                "ts": body["ts"],
                "signer": body["signer"],
            }
            self.source_by_entry[leaf.hex()] = p["sha256"]
            write = (map_key(2, bytes.fromhex(p["sha256"])), leaf)
        elif kind == "claim.extracted":
            sha = self.source_by_entry.get(p["source"])
            need(sha is not None, f"{where}: cites {p['source']}, not a registered source entry")
            need(
                sha == p["source_sha256"],
                f"{where}: source_sha256 is not the cited source's sha256",
            )
            state = {
                "id": leaf.hex(),
                "seq": seq,
                "source": sha,
                "selector": p["selector"],
                "statement": p["statement"],
                "claimant": as_v2_party(p["claimant"], v),
                "reporting": p["reporting"],
                "made_on": p["made_on"],
                "made_on_precision": p.get("made_on_precision", "day" if p["made_on"] else None),
                "quantities": as_v2_quantities(p["quantities"], v),
                "score": p["score"],
                "extractor": p["extractor"],
                "status": "active",
                "revision": 0,
                "reviews": 0,
                "last_rating": None,
                "head": leaf.hex(),
                "signer": body["signer"],
                "recorded_at": body["ts"],
                "updated_at": body["ts"],
                "chain": [(seq, leaf.hex(), kind, p["source"], "extraction")],
            }
            self.claims[leaf.hex()] = state
            write = (map_key(1, leaf), leaf)
        elif kind in ("claim.revised", "claim.retracted", "claim.reviewed"):
            c = self.claims.get(p["claim"])
            need(c is not None, f"{where}: {kind} of {p['claim']}, not a claim in the log")
            assert c is not None
            need(
                p["follows"] == c["head"],
                f"{where}: follows {p['follows']}, not the claim's latest entry {c['head']}",
            )
            if kind != "claim.reviewed":
                need(c["status"] != "retracted", f"{where}: {kind} of a retracted claim")
            if kind == "claim.revised":
                ch = p["changes"]
                for f in ("statement", "reporting"):
                    if ch[f] is not None:
                        c[f] = ch[f]
                if ch["claimant"] is not None:
                    c["claimant"] = as_v2_party(ch["claimant"], v)
                if ch["made_on"] is not None:
                    c["made_on"] = ch["made_on"]
                    c["made_on_precision"] = ch.get("made_on_precision") or "day"
                if ch["quantities"] is not None:
                    c["quantities"] = as_v2_quantities(ch["quantities"], v)
                c["status"], c["revision"] = "revised", c["revision"] + 1
                role = "revision"
            elif kind == "claim.retracted":
                c["status"], role = "retracted", "retraction"
            else:
                c["reviews"], c["last_rating"], role = (
                    c["reviews"] + 1,
                    p["rating"]["textual"],
                    "review",
                )
            c["head"], c["updated_at"] = leaf.hex(), body["ts"]
            c["chain"].append((seq, leaf.hex(), kind, p["follows"], role))
            write = (map_key(1, bytes.fromhex(p["claim"])), leaf)
        elif kind in ("claimant.linked", "claimant.unlinked"):
            need(p["a"] != p["b"], f"{where}: {kind} names one claim twice")
            for side in ("a", "b"):
                c = self.claims.get(p[side])
                need(c is not None, f"{where}: {side} is not a claim extracted earlier")
                assert c is not None
                need(c["status"] != "retracted", f"{where}: {side} is a retracted claim")
                need(c["claimant"]["name"] is not None, f"{where}: {side} is not attributed")
        self.map_writes.append(write)


# --- RFC 9162 (docs/formats/merkle-and-checkpoints.md) --------------------------------


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def roots(leaves: list[bytes]) -> list[bytes]:
    """roots[n] = MTH of the first n leaves, from a frontier of perfect subtrees."""
    out, stack = [sha256(b"")], []  # stack of (size, hash)
    for leaf in leaves:
        stack.append((1, leaf))
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            (s, left), (_, right) = stack[-2], stack[-1]
            stack[-2:] = [(2 * s, node(left, right))]
        r = stack[-1][1]
        for _, h in reversed(stack[:-1]):
            r = node(h, r)
        out.append(r)
    return out


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    if index >= size or any(len(p) != 32 for p in proof):
        return False
    inner = (index ^ (size - 1)).bit_length()
    if len(proof) != inner + bin(index >> inner).count("1"):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def _subproof_len(m: int, n: int, whole: bool) -> int:
    if m == n:
        return 0 if whole else 1
    k = 1 << ((n - 1).bit_length() - 1)
    return 1 + (_subproof_len(m, k, whole) if m <= k else _subproof_len(m - k, n - k, False))


def verify_consistency(
    old: int, new: int, proof: list[bytes], old_root: bytes, new_root: bytes
) -> bool:
    if old < 0 or old > new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == sha256(b"")
    if not proof or any(len(p) != 32 for p in proof) or len(proof) != _subproof_len(old, new, True):
        return False
    if old & (old - 1) == 0:
        proof = [old_root, *proof]
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# --- signed notes and checkpoints ------------------------------------------------------


def note_key_id(name: str, kind: int, public: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + bytes([kind]) + public)[:4]


def parse_vkey(text: str, kind: int, what: str) -> tuple[str, bytes]:
    parts = text.strip().split("+", 2)
    need(len(parts) == 3, f"{what}: not name+id+key")
    name, kid, key = parts
    need(name and not any(c.isspace() for c in name), f"{what}: bad name")
    need(re.fullmatch(r"[0-9a-f]{8}", kid), f"{what}: the ID is not 8 hex digits")
    raw = b64(key, 33, what)
    need(raw[0] == kind, f"{what}: not an Ed25519 key of type {kind:#04x}")
    need(note_key_id(name, kind, raw[1:]).hex() == kid, f"{what}: the ID does not match the key")
    return name, raw[1:]


def open_note(note: str, what: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(signed text, [(name, signature bytes)]) of a signed note."""
    need(len(note.encode()) <= 1_000_000, f"{what}: over 1,000,000 bytes")
    need(not re.search(r"[\x00-\x09\x0b-\x1f]", note), f"{what}: control characters")
    need(note.endswith("\n") and "\n\n" in note, f"{what}: not a signed note")
    cut = note.rindex("\n\n")
    text, lines = note[: cut + 1], note[cut + 2 :].split("\n")[:-1]
    need(0 < len(lines) <= 100, f"{what}: {len(lines)} signature lines")
    sigs = []
    for line in lines:
        m = re.fullmatch(r"\u2014 (\S+) (\S+)", line)
        need(m, f"{what}: malformed signature line {line[:60]!r}")
        assert m
        sigs.append((m.group(1), b64(m.group(2), None, f"{what}: signature line")))
    return text, sigs


def check_note(
    note: str, name: str, public: bytes, what: str, witnesses: list[tuple[str, bytes]]
) -> str:
    text, sigs = open_note(note, what)
    kid, good = note_key_id(name, 1, public), 0
    wits = {(n, note_key_id(n, 4, k)): k for n, k in witnesses}
    cosigned = set()
    for sig_name, raw in sigs:
        if sig_name == name and raw[:4] == kid:
            need(
                len(raw) == 68 and ed25519_ok(public, raw[4:], text.encode()),
                f"{what}: the log key's signature does not verify",
            )
            good += 1
        elif (sig_name, raw[:4]) in wits:
            ok = len(raw) == 76
            ts = int.from_bytes(raw[4:12], "big") if ok else 0
            msg = f"cosignature/v1\ntime {ts}\n{text}".encode()
            need(
                ok and ed25519_ok(wits[(sig_name, raw[:4])], raw[12:], msg),
                f"{what}: witness {sig_name}'s cosignature does not verify",
            )
            cosigned.add(sig_name)
    need(good, f"{what}: no signature by the log key {name}+{kid.hex()}")
    missing = sorted({n for n, _ in witnesses} - cosigned)
    need(not missing, f"{what}: no cosignature from witness {', '.join(missing)}")
    return text


def checkpoint_body(text: str, what: str) -> tuple[str, int, bytes, bytes | None]:
    lines = text.split("\n")[:-1]
    need(len(lines) >= 3 and all(lines), f"{what}: fewer than three lines, or an empty one")
    need(re.fullmatch(r"0|[1-9][0-9]*", lines[1]), f"{what}: size is not a decimal")
    root = b64(lines[2], 32, f"{what}: root")
    maps = [x for x in lines[3:] if x.startswith("claims-ledger/state-map/v1 ")]
    need(len(maps) <= 1, f"{what}: two state-map lines")
    map_root = b64(maps[0][27:], 32, f"{what}: state-map root") if maps else None
    return lines[0], int(lines[1]), root, map_root


# --- the claim-state map (docs/formats/state-map.md) ----------------------------------


def map_key(ns: int, raw: bytes) -> bytes:
    return sha256(b"\x12" + bytes([ns]) + raw)


def bit(k: bytes, i: int) -> int:
    return (k[i // 8] >> (7 - i % 8)) & 1


def map_root(pairs: list[tuple[bytes, bytes]], depth: int = 0) -> bytes:
    if not pairs:
        return EMPTY
    if len(pairs) == 1:
        return sha256(b"\x10" + pairs[0][0] + pairs[0][1])
    split = next((i for i, (k, _) in enumerate(pairs) if bit(k, depth)), len(pairs))
    return sha256(b"\x11" + map_root(pairs[:split], depth + 1) + map_root(pairs[split:], depth + 1))


class MapTree:
    """The same root as `map_root`, kept up to date write by write (O(depth) a write):
    a node is None (empty), (hash, key, value) for a leaf or (hash, left, right)."""

    def __init__(self) -> None:
        self.top: tuple | None = None

    @staticmethod
    def _hash(n: tuple | None) -> bytes:
        return EMPTY if n is None else n[0]

    def _inner(self, left: tuple | None, right: tuple | None) -> tuple:
        return (sha256(b"\x11" + self._hash(left) + self._hash(right)), left, right)

    def _split(self, a: tuple, b: tuple, depth: int) -> tuple:
        """Two leaves under one position at `depth`: nodes down to where their keys part."""
        if bit(a[1], depth) == bit(b[1], depth):
            below = self._split(a, b, depth + 1)
            return self._inner(None, below) if bit(a[1], depth) else self._inner(below, None)
        return self._inner(b, a) if bit(a[1], depth) else self._inner(a, b)

    def _set(self, n: tuple | None, leaf: tuple, depth: int) -> tuple:
        if n is None:
            return leaf
        if isinstance(n[1], bytes):  # a leaf
            return leaf if n[1] == leaf[1] else self._split(n, leaf, depth)
        if bit(leaf[1], depth):
            return self._inner(n[1], self._set(n[2], leaf, depth + 1))
        return self._inner(self._set(n[1], leaf, depth + 1), n[2])

    def set(self, key: bytes, value: bytes) -> None:
        self.top = self._set(self.top, (sha256(b"\x10" + key + value), key, value), 0)

    def root(self) -> bytes:
        return self._hash(self.top)


def verify_state_proof(
    raw_key: bytes, ns: int, proof: bytes, root: bytes, what: str
) -> bytes | None:
    """The value the proof shows for the key (None: absent), or Failed."""
    k = map_key(ns, raw_key)
    need(len(proof) >= 3 and proof[0] in (0, 1, 2), f"{what}: malformed proof")
    kind, depth = proof[0], int.from_bytes(proof[1:3], "big")
    need(depth <= 256, f"{what}: depth {depth}")
    nbits = (depth + 7) // 8
    bitmap, pos = proof[3 : 3 + nbits], 3 + nbits
    need(len(bitmap) == nbits, f"{what}: short proof")
    present = [i < depth and bool(bitmap[i // 8] >> (7 - i % 8) & 1) for i in range(nbits * 8)]
    need(
        not any(bitmap[i // 8] >> (7 - i % 8) & 1 for i in range(depth, nbits * 8)),
        f"{what}: unused bitmap bit set",
    )
    siblings = []
    for i in range(depth):
        if present[i]:
            s = proof[pos : pos + 32]
            need(len(s) == 32 and s != EMPTY, f"{what}: a listed sibling is short or EMPTY")
            siblings.append(s)
            pos += 32
        else:
            siblings.append(EMPTY)
    tail = proof[pos:]
    need(len(tail) == {0: 0, 1: 32, 2: 64}[kind], f"{what}: wrong length")
    value: bytes | None = None
    if kind == 0:
        h = EMPTY
    elif kind == 1:
        value, h = tail, sha256(b"\x10" + k + tail)
    else:
        other = tail[:32]
        need(
            other != k and all(bit(other, i) == bit(k, i) for i in range(depth)),
            f"{what}: bad other key",
        )
        h = sha256(b"\x10" + other + tail[32:])
    need(depth == 0 or siblings[depth - 1] != EMPTY, f"{what}: the path would have ended higher")
    for d in range(depth, 0, -1):
        s = siblings[d - 1]
        h = sha256(b"\x11" + s + h) if bit(k, d - 1) else sha256(b"\x11" + h + s)
    need(h == root, f"{what}: does not fold to the checkpoint's state-map root")
    return value


# --- sources (docs/formats/sources.md) --------------------------------------------------


def normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def plain_text(raw: bytes) -> str:
    """The text of text/plain bytes (docs/formats/sources.md): bytes that begin with the seed
    header (`date`, a date, white space: looked for in the first 64 bytes) lose it."""
    text = raw.decode("utf-8").removeprefix("\ufeff")
    m = SEED_HEADER.match(raw[:64].decode("utf-8", "replace"))
    if m:
        m = SEED_HEADER.match(text)
    return normalize(text[m.end() :] if m else text)


def check_selector(sel: dict, text: str, where: str) -> None:
    s, e = sel["start"], sel["end"]
    need(
        text[s:e] == sel["exact"] and e <= len(text),
        f"{where}: selector.exact is not text[{s}:{e}]",
    )
    need(
        text[max(0, s - 32) : s] == sel["prefix"],
        f"{where}: selector.prefix does not match the text",
    )
    need(text[e : e + 32] == sel["suffix"], f"{where}: selector.suffix does not match the text")


# --- the server ------------------------------------------------------------------------


class Server:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=60, headers={"accept": "application/json"})

    def get(self, path: str) -> httpx.Response:
        try:
            r = self.http.get(self.url + path)
        except httpx.HTTPError as exc:
            raise Unavailable(f"GET {path}: {exc}") from None
        if r.status_code != 200:
            raise Unavailable(f"GET {path}: HTTP {r.status_code}")
        return r

    def gql(self, query: str, **variables: Any) -> dict:
        try:
            r = self.http.post(self.url + "/graphql", json={"query": query, "variables": variables})
        except httpx.HTTPError as exc:
            raise Unavailable(f"POST /graphql: {exc}") from None
        if r.status_code != 200:
            raise Unavailable(f"POST /graphql: HTTP {r.status_code}: {r.text[:200]}")
        answer = r.json()
        if answer.get("errors") or not answer.get("data"):
            raise Unavailable(f"POST /graphql: {json.dumps(answer.get('errors'))[:300]}")
        return answer["data"]


ENTRIES = "query($after: Int!) { entries(after: $after, first: 100) { seq hash data } }"
CLAIM_FIELDS = """
  claimId statement reporting madeOn madeOnPrecision score status revision reviewCount lastRating
  seq head recordedAt updatedAt signer
  quote { exact prefix suffix start end }
  claimant { name role affiliation kind cites { name role affiliation kind } }
  quantities { value unit bound high text }
  extractor { name version rulesSha256 }
  source { sha256 }
  history { PAGE nodes { HISTORY } }
  reviews { PAGE nodes { REVIEWS } }
  provenance {
    origin checkpoint { size note }
    links { PAGE nodes { LINKS } }
    stateProof { namespace subject key present value proof root checkpoint { size note } }
  }
"""
# A claim's lists come a page at a time (docs/api.md): the first page with the claim, the
# rest by cursor; the provenance's later pages in the first page's checkpoint (treeSize).
PAGE = "pageInfo { hasNextPage endCursor }"
LIST_FIELDS = {
    "history": """seq kind entryHash signerKeyId signerName at reason note url status
            rating { textual value best worst } reviewer { name type url }""",
    "reviews": "seq entryHash",
    "links": """role seq kind entryHash follows signerKeyId signerName at keyValid signatureValid
            inclusionProof { seq treeSize leafHash hashes rootHash }""",
}
for _name, _fields in LIST_FIELDS.items():
    CLAIM_FIELDS = CLAIM_FIELDS.replace(_name.upper(), _fields)
CLAIM_FIELDS = CLAIM_FIELDS.replace("PAGE", PAGE)
MORE = {
    "history": "query($id: ID!, $after: String!) { claim(id: $id) { "
    "history(first: 100, after: $after) { PAGE nodes { FIELDS } } } }",
    "reviews": "query($id: ID!, $after: String!) { claim(id: $id) { "
    "reviews(first: 100, after: $after) { PAGE nodes { FIELDS } } } }",
    "links": "query($id: ID!, $after: String!, $size: Int!) { claim(id: $id) { "
    "provenance(treeSize: $size) { links(first: 100, after: $after) { PAGE nodes { FIELDS } } } } }",
}
CLAIMS = (
    "query($after: String) { claims(first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node {"
    + CLAIM_FIELDS
    + "} } } }"
)
SOURCES = """query($after: String) { sources(first: 50, after: $after) { pageInfo { hasNextPage endCursor }
  edges { node { sha256 textSha256 size mediaType uri title publisher published retrievedAt recordedAt
  seq entryHash text stateProof { namespace subject key present value proof root checkpoint { size note } } } } } }"""
KEYS = "{ keys { verifierKey keyId name roles publicKey registeredSeq revokedSeq revokedReason } }"


class Verifier:
    def __init__(self, server: Server, vkey: str, witnesses: list[str]) -> None:
        self.s = server
        self.name, self.pinned = parse_vkey(vkey, 1, "the log's verifier key")
        self.witnesses = [parse_vkey(w, 4, f"witness key {w[:40]}") for w in witnesses]
        self.log = Log()
        self.roots: list[bytes] = []
        self.checkpoints: dict[int, tuple[bytes, bytes | None]] = {}
        self.done: list[str] = []

    def note_at(
        self, note: str, what: str, witnesses: bool = False
    ) -> tuple[int, bytes, bytes | None]:
        """Check a checkpoint note against the log key at its last entry and the recomputed tree."""
        text, _ = open_note(note, what)
        origin, size, root, map_root_ = checkpoint_body(text, what)
        need(
            origin == self.log.origin,
            f"{what}: origin {origin!r} is not the log's {self.log.origin!r}",
        )
        need(
            0 < size <= len(self.log.leaves),
            f"{what}: size {size} beyond the log's {len(self.log.leaves)} entries",
        )
        key = self.log.keys[self.log.log_key_at(size - 1)]
        check_note(note, origin, key["public"], what, self.witnesses if witnesses else [])
        need(
            root == self.roots[size],
            f"{what}: its root {root.hex()} is not the root of the log's first {size} entries ({self.roots[size].hex()})",
        )
        if map_root_ is not None:
            need(
                map_root_ == self.map_root_at(size),
                f"{what}: its claim-state map root {map_root_.hex()} is not the root of the map the log's first {size} entries imply",
            )
        return size, root, map_root_

    def map_root_at(self, size: int) -> bytes:
        return self.map_roots[size]

    def run(self) -> None:
        head_note = self.s.get("/checkpoint").text
        # 1. every entry
        after = -1
        while True:
            page = self.s.gql(ENTRIES, after=after)["entries"]
            for e in page:
                seq = len(self.log.leaves)
                need(e["seq"] == seq, f"entry {seq}: the server gave seq {e['seq']} instead")
                data = b64(e["data"], None, f"entry {seq}: data")
                self.log.add(data)
                need(
                    e["hash"] == self.log.leaves[-1].hex(),
                    f"entry {seq}: the server's hash {e['hash']} is not the hash of its bytes",
                )
            if len(page) < 100:
                break
            after = page[-1]["seq"]
        n = len(self.log.leaves)
        need(n > 0, "the log is empty")
        self.done.append(f"{n} entries: bytes, canonical form, links, signatures, keys and rules")
        # 2. the pinned key is one of the log's log keys
        need(
            self.name == self.log.origin,
            f"the verifier key names {self.name!r}, the log is {self.log.origin!r}",
        )
        log_publics = [self.log.keys[k]["public"] for _, k in self.log.log_keys]
        need(
            self.pinned in log_publics,
            "the verifier key is not one of this log's log keys (entry 0's or a rotation's)",
        )
        self.roots = roots(self.log.leaves)
        tree, self.map_roots = MapTree(), [EMPTY]
        for write in self.log.map_writes:
            if write:
                tree.set(*write)
            self.map_roots.append(tree.root())
        # 3. the head checkpoint, and every checkpoint the server holds
        size, root, _ = self.note_at(head_note, "/checkpoint", witnesses=True)
        need(
            size == n,
            f"/checkpoint: size {size}, but the server gave {n} entries: entries {size} to {n - 1} are not covered",
        )
        sizes = list(range(1, n + 1))
        for i in range(0, len(sizes), 30):
            chunk = sizes[i : i + 30]
            q = (
                "{ "
                + " ".join(
                    f"c{s}: checkpoint(size: {s}) {{ origin note size rootHash }}" for s in chunk
                )
                + " }"
            )
            for s, cp in zip(chunk, self.s.gql(q).values(), strict=True):
                if cp is None:
                    continue
                what = f"checkpoint at tree size {s}"
                size, root, mroot = self.note_at(cp["note"], what)
                need(
                    size == s == cp["size"] and cp["rootHash"] == base64.b64encode(root).decode(),
                    f"{what}: its fields disagree with its note",
                )
                self.checkpoints[s] = (root, mroot)
        need(n in self.checkpoints, f"no checkpoint at the head size {n}")
        self.done.append(
            f"{len(self.checkpoints)} checkpoints: notes signed by the log key at their size, roots and state-map roots recomputed"
        )
        # 4. inclusion of every entry at the head, consistency between checkpoints
        for i in range(0, n, 30):
            seqs = range(i, min(n, i + 30))
            q = (
                "{ "
                + " ".join(
                    f"p{s}: inclusionProof(seq: {s}, treeSize: {n}) {{ seq treeSize leafHash hashes rootHash }}"
                    for s in seqs
                )
                + " }"
            )
            for s, p in zip(seqs, self.s.gql(q).values(), strict=True):
                self.check_inclusion(p, s, n, f"inclusion proof of entry {s} at size {n}")
        sizes = sorted(self.checkpoints)
        pairs = list(itertools.pairwise(sizes)) + [(s, n) for s in sizes[:-2]]
        for i in range(0, len(pairs), 30):
            chunk = pairs[i : i + 30]
            q = (
                "{ "
                + " ".join(
                    f"k{a}_{b}: consistencyProof(fromSize: {a}, toSize: {b}) {{ fromSize toSize hashes }}"
                    for a, b in chunk
                )
                + " }"
            )
            for (a, b), p in zip(chunk, self.s.gql(q).values(), strict=True):
                hashes = [b64(h, 32, f"consistency proof {a} -> {b}") for h in p["hashes"]]
                ok = verify_consistency(a, b, hashes, self.roots[a], self.roots[b])
                need(
                    ok and (p["fromSize"], p["toSize"]) == (a, b),
                    f"consistency proof from size {a} to {b} does not verify",
                )
        self.done.append(
            f"{n} inclusion proofs at size {n}; {len(pairs)} consistency proofs between checkpoints"
        )
        # 5. keys, sources, claims as GraphQL serves them
        self.check_keys()
        self.check_sources()
        self.check_claims()
        self.check_absence()

    def check_inclusion(self, p: dict, seq: int, size: int, what: str) -> None:
        need(
            p["seq"] == seq and p["treeSize"] == size,
            f"{what}: for seq {p['seq']} at size {p['treeSize']}",
        )
        leaf = b64(p["leafHash"], 32, f"{what}: leafHash")
        need(leaf == self.log.leaves[seq], f"{what}: leafHash is not entry {seq}'s hash")
        hashes = [b64(h, 32, what) for h in p["hashes"]]
        need(
            verify_inclusion(seq, size, leaf, hashes, self.roots[size]),
            f"{what}: does not verify against the root at size {size}",
        )
        need(
            b64(p["rootHash"], 32, what) == self.roots[size],
            f"{what}: rootHash is not the root at size {size}",
        )

    def check_state_proof(
        self, sp: dict | None, ns: str, subject: str, expect: str | None, what: str
    ) -> None:
        need(sp is not None, f"{what}: no state proof")
        assert sp is not None
        size, _, mroot = self.note_at(sp["checkpoint"]["note"], f"{what}: its checkpoint")
        need(mroot is not None, f"{what}: its checkpoint has no state-map line")
        assert mroot is not None
        nsb = 1 if ns == "claim" else 2
        key = map_key(nsb, bytes.fromhex(subject))
        need(
            sp["namespace"] == ns and sp["subject"] == subject and sp["key"] == key.hex(),
            f"{what}: names another key",
        )
        need(
            b64(sp["root"], 32, what) == mroot,
            f"{what}: root is not its checkpoint's state-map root",
        )
        value = verify_state_proof(
            bytes.fromhex(subject), nsb, b64(sp["proof"], None, what), mroot, what
        )
        got = value.hex() if value else None
        need(
            got == expect,
            f"{what}: the map holds {got}, the log's first {size} entries say {expect}",
        )
        need(
            sp["present"] == (got is not None) and sp["value"] == got,
            f"{what}: present/value disagree with the proof",
        )

    def latest_at(self, ns: int, raw: bytes, size: int) -> str | None:
        k, found = map_key(ns, raw), None
        for w in self.log.map_writes[:size]:
            if w and w[0] == k:
                found = w[1].hex()
        return found

    def check_keys(self) -> None:
        served = self.s.gql(KEYS)["keys"]
        need(
            len(served) == len(self.log.keys),
            f"keys: the server lists {len(served)}, the log registers {len(self.log.keys)}",
        )
        for k in served:
            mine = self.log.keys.get(k["keyId"])
            what = f"key {k['keyId']}"
            need(mine is not None, f"{what}: served but not registered in the log")
            assert mine is not None
            name = (
                self.log.origin
                if "log" in mine["roles"] or k["registeredSeq"] == 0
                else mine["name"]
            )
            typed = base64.b64encode(bytes([1]) + mine["public"]).decode()
            vkey = f"{name}+{note_key_id(name, 1, mine['public']).hex()}+{typed}"
            expect = {
                "name": mine["name"],
                "roles": mine["roles"],
                "publicKey": base64.b64encode(mine["public"]).decode(),
                "registeredSeq": mine["registered"],
                "revokedSeq": mine["revoked"],
                "revokedReason": mine["reason"],
                "verifierKey": vkey,
            }
            for f, v in expect.items():
                need(k[f] == v, f"{what}: {f} is {k[f]!r}, the log implies {v!r}")
        self.done.append(f"{len(served)} keys as served match the log")

    def check_sources(self) -> None:
        seen: set[str] = set()
        after = None
        self.texts: dict[str, str] = {}
        raws = {}
        for sha, mine in self.log.sources.items():  # the bytes first: GraphQL may fail on them
            raw = raws[sha] = self.s.get(f"/sources/{sha}/raw").content
            what = f"source {sha} (entry {mine['seq']})"
            need(hashlib.sha256(raw).hexdigest() == sha, f"{what}: its raw bytes do not hash to it")
            size = mine["payload"]["size"]
            need(len(raw) == size, f"{what}: {len(raw)} bytes, signed size {size}")
        while True:
            page = self.s.gql(SOURCES, after=after)["sources"]
            for edge in page["edges"]:
                src = edge["node"]
                sha = src["sha256"]
                what = f"source {sha}"
                mine = self.log.sources.get(sha)
                need(mine is not None, f"{what}: served but not registered in the log")
                assert mine is not None
                seen.add(sha)
                p = mine["payload"]
                expect = {
                    "textSha256": p["text_sha256"],
                    "size": p["size"],
                    "mediaType": p["media_type"],
                    "uri": p["uri"],
                    "title": p["title"],
                    "publisher": p["publisher"],
                    "published": p["published"],
                    "retrievedAt": p["retrieved_at"],
                    "recordedAt": mine["ts"],
                    "seq": mine["seq"],
                    "entryHash": mine["entry"],
                }
                for f, v in expect.items():
                    need(
                        src[f] == v,
                        f"{what} (entry {mine['seq']}): {f} is {src[f]!r}, the log says {v!r}",
                    )
                raw = raws[sha]
                text = src["text"]
                need(
                    hashlib.sha256(text.encode()).hexdigest() == p["text_sha256"],
                    f"{what} (entry {mine['seq']}): its text does not have the signed text_sha256",
                )
                if p["media_type"].split(";")[0].strip().lower() == "text/plain":
                    try:
                        parsed = plain_text(raw)
                    except UnicodeDecodeError:
                        raise Failed(f"{what} (entry {mine['seq']}): not valid UTF-8") from None
                    need(
                        text == parsed,
                        f"{what} (entry {mine['seq']}): its bytes do not normalize to the text with its text_sha256",
                    )
                self.texts[sha] = text
                self.check_state_proof(
                    src["stateProof"], "source", sha, mine["entry"], f"{what}: state proof"
                )
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        missing = sorted(set(self.log.sources) - seen)
        need(
            not missing,
            f"source {missing[0] if missing else ''}: registered in the log but not served",
        )
        self.done.append(
            f"{len(seen)} sources: fields, raw bytes (SHA-256, size), text_sha256, state proofs"
        )

    def check_claims(self) -> None:
        seen: set[str] = set()
        after = None
        while True:
            page = self.s.gql(CLAIMS, after=after)["claims"]
            for edge in page["edges"]:
                self.check_claim(edge["node"])
                seen.add(edge["node"]["claimId"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        missing = sorted(set(self.log.claims) - seen)
        need(
            not missing,
            f"claim {missing[0] if missing else ''}: extracted in the log but not served",
        )
        need(
            page["totalCount"] == len(self.log.claims),
            f"claims: totalCount {page['totalCount']}, the log has {len(self.log.claims)}",
        )
        self.done.append(
            f"{len(seen)} claims: every field, provenance chain, inclusion and state proofs, history, quotes"
        )

    def every_page(self, cid: str, name: str, first: dict, size: int | None = None) -> list:
        """The nodes of a claim's list: ``first`` page, then the others by cursor."""
        nodes, info = list(first["nodes"]), first["pageInfo"]
        query = MORE[name].replace("PAGE", PAGE).replace("FIELDS", LIST_FIELDS[name])
        while info["hasNextPage"]:
            extra = {"size": size} if size is not None else {}
            found = self.s.gql(query, id=cid, after=info["endCursor"], **extra)["claim"]
            page = found["provenance"]["links"] if name == "links" else found[name]
            need(page["nodes"], f"claim {cid}: {name}: a page that says more follow is empty")
            nodes += page["nodes"]
            info = page["pageInfo"]
        return nodes

    def check_claim(self, c: dict) -> None:
        cid = c["claimId"]
        mine = self.log.claims.get(cid)
        what = f"claim {cid}"
        need(mine is not None, f"{what}: served but not extracted in the log")
        assert mine is not None

        def up(v: str | None) -> str | None:
            return v.upper() if isinstance(v, str) else v

        def party(p: dict) -> dict:
            return {**{f: p[f] for f in ("name", "role", "affiliation")}, "kind": up(p["kind"])}

        expect = {
            "statement": mine["statement"],
            "reporting": up(mine["reporting"]),
            "madeOn": mine["made_on"],
            "madeOnPrecision": up(mine["made_on_precision"]),
            "score": mine["score"],
            "status": up(mine["status"]),
            "revision": mine["revision"],
            "reviewCount": mine["reviews"],
            "lastRating": mine["last_rating"],
            "seq": mine["seq"],
            "head": mine["head"],
            "recordedAt": mine["recorded_at"],
            "updatedAt": mine["updated_at"],
            "signer": mine["signer"],
            "quote": mine["selector"],
            "claimant": {
                **party(mine["claimant"]),
                "cites": [party(x) for x in mine["claimant"]["cites"]],
            },
            "quantities": [dict(q, bound=q["bound"].upper()) for q in mine["quantities"]],
            "extractor": {
                "name": mine["extractor"]["name"],
                "version": mine["extractor"]["version"],
                "rulesSha256": mine["extractor"]["rules_sha256"],
            },
            "source": {"sha256": mine["source"]},
        }
        for f, v in expect.items():
            need(
                c[f] == v,
                f"{what}: {f} is {json.dumps(c[f])[:200]}, the log implies {json.dumps(v)[:200]}",
            )
        check_selector(
            mine["selector"], self.texts[mine["source"]], f"{what} (entry {mine['seq']})"
        )
        # provenance: the source's registration, the extraction, then every change in log order
        prov = c["provenance"]
        size, _, _ = self.note_at(prov["checkpoint"]["note"], f"{what}: provenance checkpoint")
        src = self.log.sources[mine["source"]]
        chain = [(src["seq"], src["entry"], "source.registered", None, "source")] + mine["chain"]
        chain = [x for x in chain if x[0] < size]
        links = self.every_page(cid, "links", prov["links"], size)
        need(
            len(links) == len(chain),
            f"{what}: provenance has {len(links)} links, the log's first {size} entries give {len(chain)}",
        )
        for link, (seq, h, kind, follows, role) in zip(links, chain, strict=True):
            lw = f"{what}: provenance link {role} (entry {seq})"
            body = self.log.bodies[seq]
            key = self.log.keys[body["signer"]]
            got = (
                link["seq"],
                link["entryHash"],
                link["kind"],
                link["follows"],
                link["role"],
                link["signerKeyId"],
                link["signerName"],
                link["at"],
            )
            need(
                got == (seq, h, kind, follows, role, body["signer"], key["name"], body["ts"]),
                f"{lw}: served as {got}",
            )
            need(
                link["keyValid"] and link["signatureValid"],
                f"{lw}: the server says the key or signature is invalid; it is valid",
            )
            self.check_inclusion(link["inclusionProof"], seq, size, f"{lw}: inclusion proof")
        last = chain[-1][1]
        self.check_state_proof(
            prov["stateProof"],
            "claim",
            cid,
            self.latest_at(1, bytes.fromhex(cid), size),
            f"{what}: provenance state proof",
        )
        need(
            prov["stateProof"]["value"] == last,
            f"{what}: the state map's latest entry is not the last provenance link",
        )
        # history
        hist = self.every_page(cid, "history", c["history"])
        need(
            len(hist) == len(mine["chain"]),
            f"{what}: history has {len(hist)} entries, the log {len(mine['chain'])}",
        )
        status = "active"
        for ev, (seq, h, kind, _, _) in zip(hist, mine["chain"], strict=True):
            body = self.log.bodies[seq]
            p = body["payload"]
            status = {"claim.revised": "revised", "claim.retracted": "retracted"}.get(kind, status)
            rating = p.get("rating") if kind == "claim.reviewed" else None
            rv = p.get("reviewer")
            expect = {
                "seq": seq,
                "kind": kind,
                "entryHash": h,
                "signerKeyId": body["signer"],
                "signerName": self.log.keys[body["signer"]]["name"],
                "at": body["ts"],
                "reason": p.get("reason"),
                "note": p.get("note") if rating else None,
                "url": p.get("url") if rating else None,
                "status": status.upper(),
                "rating": rating,
                "reviewer": dict(rv, type=rv["type"].upper()) if rv else None,
            }
            for f, v in expect.items():
                need(
                    ev[f] == v, f"{what}: history entry {seq}: {f} is {ev[f]!r}, the log says {v!r}"
                )
        reviews = [(x[0], x[1]) for x in mine["chain"] if x[2] == "claim.reviewed"]
        need(
            [(r["seq"], r["entryHash"]) for r in self.every_page(cid, "reviews", c["reviews"])]
            == reviews,
            f"{what}: reviews differ from the log",
        )

    def check_absence(self) -> None:
        n = len(self.log.leaves)
        nobody = sha256(b"independent verifier: no such claim").hex()
        q = f'{{ c: stateProof(claimId: "{nobody}") {{ namespace subject key present value proof root checkpoint {{ size note }} }} s: stateProof(source: "{nobody}") {{ namespace subject key present value proof root checkpoint {{ size note }} }} }}'
        answer = self.s.gql(q)
        self.check_state_proof(
            answer["c"], "claim", nobody, None, "absence proof of an unknown claim"
        )
        self.check_state_proof(
            answer["s"], "source", nobody, None, "absence proof of an unknown source"
        )
        need(answer["c"]["checkpoint"]["size"] <= n, "absence proof: checkpoint beyond the log")
        self.done.append("absence proofs for an unknown claim id and source hash")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("log_key", help="the log's verifier key, origin+id+base64")
    ap.add_argument(
        "--witness",
        action="append",
        default=[],
        help="a witness key whose cosignature the head must carry",
    )
    args = ap.parse_args(argv)
    try:
        v = Verifier(Server(args.url), args.log_key, args.witness)
        v.run()
    except Failed as exc:
        print(f"verification failed: {exc}", file=sys.stderr)
        return 2
    except Unavailable as exc:
        print(f"server unavailable: {exc}", file=sys.stderr)
        return 5
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        print(
            f"verification failed: an answer is not shaped as the schema says ({exc!r})",
            file=sys.stderr,
        )
        return 2
    for line in v.done:
        print(f"ok {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
