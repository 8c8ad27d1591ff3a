"""`claims-ledger client` and `monitor` against real servers on 127.0.0.1: exit codes, the
state file across runs, a rolled-back server, a forked one, and a log that signs a forged
entry into its tree (the monitor runs its hook)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.client import TrustPolicy
from ledger.config import Settings
from ledger.entries import Body, ClaimChanges, ClaimRevised, parse_entry, sign_body
from ledger.instance import open_instance
from ledger.signing import SigningKey
from ledger.trust_state import load_state
from tests.api.conftest import Served, gql, launch
from tests.helpers import run_cli, source_bytes, source_payload

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _log_key(url: str) -> str:
    keys = gql(url, "{ keys { registeredSeq verifierKey } }")["keys"]
    return next(k["verifierKey"] for k in keys if k["registeredSeq"] == 0)


def _client(home: Path, *args: str) -> Any:
    return run_cli(home, *args)


def _ingest(url: str, token: str, text: str) -> None:
    response = httpx.post(
        f"{url}/graphql",
        json={
            "query": "mutation($t: String!) { ingestSource(text: $t) { __typename } }",
            "variables": {"t": text},
        },
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text


def _size(url: str) -> int:
    return int(gql(url, "{ checkpoint { size } }")["checkpoint"]["size"])


def test_client_commands_exit_0_2_3_4(served: Served, tmp_path: Path) -> None:
    key = _log_key(served.url)
    claim_id = gql(
        served.url, "{ claims(first: 1, filter: {status: REVISED}) { edges { node { claimId } } } }"
    )["claims"]["edges"][0]["node"]["claimId"]
    done = _client(served.home, "client", "claim", served.url, claim_id, "--log-key", key, "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["claim"]["statement"] == "North Korea sent about 6,700 containers."
    assert shown["complete"] is True
    assert [h["kind"] for h in shown["history"]] == [
        "claim.extracted",
        "claim.revised",
        "claim.reviewed",
    ]
    text = _client(served.home, "client", "claim", served.url, claim_id, "--log-key", key)
    assert text.returncode == 0 and "statement: North Korea sent about 6,700" in text.stdout
    # another log's key: verification fails
    stranger = TrustPolicy.parse(key).log_key
    other = SigningKey.generate("x").private.public_key()
    from ledger.checkpoint import Verifier

    wrong = Verifier.from_public_key(stranger.name, other).key_text()
    refused = _client(served.home, "client", "claim", served.url, claim_id, "--log-key", wrong)
    assert refused.returncode == 2, refused.stderr
    missing = _client(served.home, "client", "claim", served.url, "ab" * 32, "--log-key", key)
    assert missing.returncode == 3, missing.stderr
    down = _client(served.home, "client", "claim", "http://127.0.0.1:9", claim_id, "--log-key", key)
    assert down.returncode == 5, down.stderr
    usage = _client(served.home, "client", "claim", served.url, "--log-key", key)
    assert usage.returncode == 4
    # a source, and the bytes checked against it
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes(source_bytes(0))
    bad.write_bytes(source_bytes(0) + b"!")
    sha = source_payload(0).sha256
    ok = _client(
        served.home, "client", "source", served.url, sha, "--log-key", key, "--file", str(good)
    )
    assert ok.returncode == 0 and "bytes: checked" in ok.stdout, ok.stderr
    wrong_bytes = _client(
        served.home, "client", "source", served.url, sha, "--log-key", key, "--file", str(bad)
    )
    assert wrong_bytes.returncode == 2, wrong_bytes.stderr


@contextmanager
def _server(home: Path, db: str) -> Iterator[str]:
    proc, url = launch(home, db)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@SQLITE
def test_state_file_first_use_then_incremental_then_rollback_and_fork(
    served: Served, tmp_path: Path
) -> None:
    key = _log_key(served.url)
    state = tmp_path / "state.json"
    first = _client(
        served.home, "client", "log", served.url, "--log-key", key, "--state", str(state)
    )
    assert first.returncode == 0, first.stderr
    assert "every entry" in first.stdout
    saved = load_state(state, TrustPolicy.parse(key).log_key)
    assert saved is not None and saved.entries_verified and saved.size == _size(served.url)
    # A copy of the ledger as it is now: later served as a rolled-back or forked server.
    old_home = tmp_path / "old"
    shutil.copytree(served.home, old_home)
    db_file = Path(served.db_url.removeprefix("sqlite:///"))
    old_db = tmp_path / "old.sqlite3"
    shutil.copy(db_file, old_db)

    _ingest(served.url, served.tokens["writer"], "The agency said 12 ships left port on Friday.")
    _ingest(served.url, served.tokens["writer"], "Officials said 40 trucks crossed on Monday.")
    newer = _client(
        served.home, "client", "log", served.url, "--log-key", key, "--state", str(state), "--json"
    )
    assert newer.returncode == 0, newer.stderr
    report = json.loads(newer.stdout)
    assert report["full"] is False and report["from"] == saved.size
    assert report["size"] == _size(served.url) > saved.size
    assert report["kinds"].get("claim.extracted", 0) >= 2
    current = state.read_bytes()

    with _server(old_home, f"sqlite:///{old_db}") as old_url:
        # Rolled back: the old server's checkpoint is smaller than the saved one.
        rollback = _client(
            served.home, "client", "log", old_url, "--log-key", key, "--state", str(state)
        )
        assert rollback.returncode == 2 and "shrank" in rollback.stderr, rollback.stderr
        assert state.read_bytes() == current
        # Forked: the old server grows another history past the saved size.
        for n in range(4):
            _ingest(
                old_url,
                served.tokens["writer"],
                f"The ministry said {n + 7} ferries sailed on Tuesday.",
            )
        assert _size(old_url) >= report["size"]
        fork = _client(
            served.home, "client", "log", old_url, "--log-key", key, "--state", str(state)
        )
        assert fork.returncode == 2 and "consistent" in fork.stderr, fork.stderr
        assert state.read_bytes() == current
        # The monitor sees it too, and runs its hook with the reason in the environment.
        out = tmp_path / "hook.txt"
        hook = f"{sys.executable} -c \"import os,pathlib; pathlib.Path(os.environ['HOOK_OUT']).write_text(os.environ['LEDGER_MONITOR_REASON'])\""
        watched = run_cli(
            served.home,
            "monitor",
            old_url,
            "--log-key",
            key,
            "--state",
            str(state),
            "--once",
            "--hook",
            hook,
            HOOK_OUT=str(out),
        )
        assert watched.returncode == 2, watched.stderr
        assert "not consistent" in out.read_text()
        assert state.read_bytes() == current
    healthy = run_cli(
        served.home, "monitor", served.url, "--log-key", key, "--state", str(state), "--once"
    )
    assert healthy.returncode == 0 and "no new entries" in healthy.stdout, healthy.stderr


class _ForgingLog:
    """A log operator that appends an entry signed by an unregistered key and signs a
    checkpoint over it with the real log key: everything the monitor asks about the tree
    is answered consistently from the entries plus the forged one; other questions go to
    the real server."""

    def __init__(self, url: str, home: Path, db_url: str, forged: str = "stranger") -> None:
        self.url = url
        entries = []
        after = -1
        while True:
            page = gql(
                url, "query($a: Int!) { entries(after: $a, first: 100) { seq data } }", a=after
            )["entries"]
            entries += [base64.b64decode(row["data"]) for row in page]
            if len(page) < 100:
                break
            after = page[-1]["seq"]
        last = parse_entry(entries[-1])
        instance = open_instance(Settings(home=home, database_url=db_url, passphrase=b"pw"))
        log, writer = instance.log_key(), instance.writer_key()
        instance.close()
        signer = SigningKey.generate("forger") if forged == "stranger" else writer
        payload: Any = source_payload(77)
        kind = "source.registered"
        if forged == "duplicate":  # a second registration of a source registered long ago
            payload = source_payload(0)
        elif forged == "stale":  # a revision that skips the claim's latest entry (a review)
            claim_id = gql(
                url,
                "{ claims(first: 1, filter: {status: REVISED}) { edges { node { claimId } } } }",
            )["claims"]["edges"][0]["node"]["claimId"]
            kind = "claim.revised"
            payload = ClaimRevised(
                claim=claim_id,
                follows=claim_id,
                changes=ClaimChanges(statement="A forged statement."),
                reason="forged",
            )
        body = Body(
            log=last.body.log,
            seq=last.seq + 1,
            prev=last.hash,
            ts=last.body.ts,
            kind=kind,
            signer=signer.key_id,
            payload=payload,
            v=last.body.v,
        )
        entries.append(sign_body(body, signer).data)
        self.entries = entries
        self.hashes = [parse_entry(e).hash.hex() for e in entries]
        leaves = [merkle.Hash(bytes.fromhex(h)) for h in self.hashes]
        self.reader = merkle.DictNodeReader.from_leaves(leaves)
        served_note = httpx.get(f"{url}/checkpoint").text
        origin = Checkpoint.from_body(served_note.split("\n\n")[0] + "\n").origin
        root = merkle.root_at(len(leaves), self.reader)
        self.note = sign_checkpoint(Checkpoint(origin, len(leaves), root), origin, log.private)
        assert verify_checkpoint(self.note, TrustPolicy.parse(_log_key(url)).log_key).size == len(
            leaves
        )

    def answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        size = len(self.entries)
        if "consistencyProof" in query:
            hashes = merkle.consistency_proof(variables["a"], variables["b"], self.reader)
            return {"consistencyProof": {"hashes": [base64.b64encode(h).decode() for h in hashes]}}
        if "entries(" in query:
            start = variables["a"] + 1
            rows = self.entries[start : start + variables["n"]]
            return {
                "entries": [
                    {"seq": start + i, "data": base64.b64encode(d).decode()}
                    for i, d in enumerate(rows)
                ]
            }
        if "inclusionProof(" in query and variables.get("n") == size:
            seq = (
                variables["s"]
                if variables.get("s") is not None
                else self.hashes.index(variables["h"])
            )
            proof = merkle.inclusion_proof(seq, size, self.reader)
            return {
                "entry": {
                    "data": base64.b64encode(self.entries[seq]).decode(),
                    "hash": parse_entry(self.entries[seq]).hash.hex(),
                },
                "inclusionProof": {
                    "seq": seq,
                    "treeSize": size,
                    "hashes": [base64.b64encode(h).decode() for h in proof],
                },
            }
        return None


@contextmanager
def _forging_proxy(forger: _ForgingLog) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/checkpoint":
                self._send(200, forger.note.encode(), "text/plain; charset=utf-8")
            else:
                real = httpx.get(forger.url + self.path)
                self._send(real.status_code, real.content, real.headers.get("content-type", ""))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["content-length"]))
            request = json.loads(raw)
            data = forger.answer(request["query"], request.get("variables") or {})
            if data is not None:
                self._send(200, json.dumps({"data": data}).encode(), "application/json")
                return
            real = httpx.post(
                forger.url + self.path, content=raw, headers={"content-type": "application/json"}
            )
            self._send(real.status_code, real.content, "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@SQLITE
@pytest.mark.parametrize(
    ("forged", "why"),
    [
        ("stranger", "not a registered key"),
        ("duplicate", "already registered"),
        ("stale", "follow|latest|head"),
    ],
)
def test_monitor_catches_a_forged_entry_the_log_signed_into_its_tree(
    served: Served, tmp_path: Path, forged: str, why: str
) -> None:
    key = _log_key(served.url)
    state = tmp_path / "state.json"
    first = run_cli(
        served.home, "monitor", served.url, "--log-key", key, "--state", str(state), "--once"
    )
    assert first.returncode == 0, first.stderr
    before = state.read_bytes()
    forger = _ForgingLog(served.url, served.home, served.db_url, forged)
    out = tmp_path / "hook.txt"
    hook = f"{sys.executable} -c \"import os,pathlib; pathlib.Path(os.environ['HOOK_OUT']).write_text(os.environ['LEDGER_MONITOR_REASON'])\""
    with _forging_proxy(forger) as url:
        watched = run_cli(
            served.home,
            "monitor",
            url,
            "--log-key",
            key,
            "--state",
            str(state),
            "--once",
            "--hook",
            hook,
            HOOK_OUT=str(out),
        )
    assert watched.returncode == 2, watched.stderr
    reason = out.read_text()
    assert f"entry {len(forger.entries) - 1}" in reason, reason
    assert re.search(why, reason), reason
    assert state.read_bytes() == before


REVISE = """mutation($c: String!, $f: String!) { reviseClaim(input: {claimId: $c, follows: $f,
  reason: "corrected", statement: "A corrected statement."}) { __typename } }"""
REVIEW = """mutation($c: String!, $f: String!) { reviewClaim(input: {claimId: $c, follows: $f,
  rating: "False", ratingValue: 1, bestRating: 5, worstRating: 1}) { __typename } }"""
RETRACT = """mutation($c: String!, $f: String!) { retractClaim(claimId: $c, follows: $f,
  reason: "withdrawn") { __typename } }"""


def _mutate(url: str, token: str, query: str, **variables: str) -> None:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    body = response.json()
    assert "errors" not in body, body
    result = next(iter(body["data"].values()))
    assert result["__typename"] in ("ClaimChanged", "SourceIngested"), result


def _head(url: str, claim_id: str) -> str:
    return str(
        gql(url, "query($id: ID!) { claim(id: $id) { head } }", id=claim_id)["claim"]["head"]
    )


def test_incremental_sync_ends_where_a_full_sync_does(served: Served, tmp_path: Path) -> None:
    """Entries of every kind after the saved state — changes to claims extracted before it,
    a key registered and revoked, a new source — verified incrementally give the very state
    file a full verification writes."""
    from ledger.client import LedgerClient

    key = _log_key(served.url)
    policy = TrustPolicy.parse(key)
    incremental = LedgerClient(served.url, policy=policy, state=tmp_path / "a.json")
    assert incremental.sync().full
    old = [
        e["node"]["claimId"]
        for e in gql(
            served.url,
            "{ claims(first: 3, filter: {status: ACTIVE}) { edges { node { claimId } } } }",
        )["claims"]["edges"]
    ]
    writer, reviewer = served.tokens["writer"], served.tokens["reviewer"]
    _mutate(served.url, writer, REVISE, c=old[0], f=_head(served.url, old[0]))
    _mutate(served.url, reviewer, REVIEW, c=old[0], f=_head(served.url, old[0]))
    _mutate(served.url, writer, RETRACT, c=old[1], f=_head(served.url, old[1]))
    _mutate(served.url, reviewer, REVIEW, c=old[1], f=_head(served.url, old[1]))
    env = {"LEDGER_DATABASE_URL": served.db_url, "LEDGER_KEY_PASSPHRASE": "pw"}
    made = run_cli(
        served.home, "keys", "create", "extra", "--role", "reviewer", "--no-passphrase", **env
    )
    assert made.returncode == 0, made.stderr
    key_id = made.stdout.split()[2]
    gone = run_cli(served.home, "keys", "revoke", key_id, "--reason", "test", **env)
    assert gone.returncode == 0, gone.stderr
    _ingest(served.url, writer, "The agency said 12 ships left port on Friday.")
    report = incremental.sync()
    assert not report.full
    assert report.kinds["claim.revised"] == 1 and report.kinds["claim.retracted"] == 1
    assert report.kinds["key.registered"] == 1 and report.kinds["key.revoked"] == 1
    full = LedgerClient(served.url, policy=policy, state=tmp_path / "b.json")
    assert full.sync().full
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    # The same map (root); the map files' layouts differ (one appended to, one written whole).
    assert a.pop("state_map")["root"] == b.pop("state_map")["root"]
    assert a == b
    assert len(a["key_entries"]) == len(b["key_entries"]) >= 4
    # and a claim changed after the state is verified with the new values
    claim = incremental.verify_claim(old[1])
    assert claim.status == "retracted" and claim.state.last_rating == "False"


@SQLITE
def test_a_claim_check_seeds_the_state_and_a_rollback_is_caught_on_the_next_contact(
    served: Served, tmp_path: Path
) -> None:
    from ledger.client import LedgerClient
    from ledger.errors import VerificationError

    key = _log_key(served.url)
    policy = TrustPolicy.parse(key)
    path = tmp_path / "state.json"
    claim_id = gql(served.url, "{ claims(first: 1) { edges { node { claimId } } } }")["claims"][
        "edges"
    ][0]["node"]["claimId"]
    before = httpx.get(f"{served.url}/checkpoint").content  # an honest, older checkpoint
    _ingest(served.url, served.tokens["writer"], "The agency said 12 ships left port on Friday.")
    LedgerClient(served.url, policy=policy, state=path).verify_claim(claim_id)
    seeded = load_state(path, policy.log_key)  # checks the frontier folds to the root
    assert seeded is not None and not seeded.entries_verified
    assert seeded.size == _size(served.url) > policy.verify_note(before).size
    _ingest(served.url, served.tokens["writer"], "Officials said 40 trucks crossed on Monday.")
    real = httpx.Client()

    def rolled_back(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/checkpoint"):
            return httpx.Response(200, content=before)
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = real.send(forwarded)
        return httpx.Response(response.status_code, content=response.content)

    saved = path.read_bytes()
    liar = LedgerClient(
        served.url,
        policy=policy,
        state=path,
        http=httpx.Client(transport=httpx.MockTransport(rolled_back)),
    )
    with pytest.raises(VerificationError, match="shrank"):
        liar.checkpoint()
    with pytest.raises(VerificationError, match="shrank"):
        liar.sync()
    assert path.read_bytes() == saved
    # The next claim check moves a state that does not vouch for entries forward …
    client = LedgerClient(served.url, policy=policy, state=path)
    client.verify_claim(claim_id)
    moved = load_state(path, policy.log_key)
    assert moved is not None and moved.size == _size(served.url) > seeded.size
    # … and the first log verification checks every entry and then vouches for them.
    report = client.sync()
    assert report.full
    verified = load_state(path, policy.log_key)
    assert verified is not None and verified.entries_verified and verified.key_entries


@SQLITE
def test_the_monitor_polls_and_follows_the_log(served: Served, tmp_path: Path) -> None:
    import os
    import subprocess

    key = _log_key(served.url)
    state = tmp_path / "state.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger.cli",
            "monitor",
            served.url,
            "--log-key",
            key,
            "--state",
            str(state),
            "--interval",
            "0.2",
        ],
        cwd=str(Path(__file__).resolve().parents[2]),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "every entry" in first, first
        size = _size(served.url)
        _ingest(served.url, served.tokens["writer"], "Officials said 40 trucks crossed on Monday.")
        for _ in range(200):
            line = proc.stdout.readline()
            if f"entries {size}.." in line:
                break
        else:
            pytest.fail("the monitor never reported the new entries")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    saved = load_state(state, TrustPolicy.parse(key).log_key)
    assert saved is not None and saved.size == _size(served.url)
