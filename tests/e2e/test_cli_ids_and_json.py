"""A command line you can drive by the ids it prints (issue 15): full ids, prefixes and
global IDs everywhere, sources found by path, --json on every listing and show command,
--version, help written for people, and one-line errors with distinct exit statuses."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import exit_codes
from ledger.cli import app, run_main
from ledger.errors import (
    Conflict,
    FormatError,
    InvalidInput,
    NotFound,
    SignatureError,
    StorageError,
    TimedOut,
    Unavailable,
    UsageError,
    VerificationError,
)
from ledger.ids import global_id
from tests.helpers import ROOT, run_cli

ARTICLE = (
    "The harbour master said on Monday that 40 ships were waiting outside the port.\n\n"
    "The mayor said on Tuesday that the new bridge will cost 12 million euros.\n"
)


@dataclass
class Done:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


class Cli:
    """``claims-ledger`` run in this process through ``run_main`` (what ``main`` runs)."""

    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.home, self.capsys = home, capsys

    def __call__(self, *args: str, code: int = 0) -> Done:
        saved = {k: v for k, v in os.environ.items() if k.startswith("LEDGER_")}
        for name in saved:
            del os.environ[name]
        os.environ["LEDGER_HOME"] = str(self.home)
        try:
            self.capsys.readouterr()
            status = run_main(list(args))
            captured = self.capsys.readouterr()
        finally:
            del os.environ["LEDGER_HOME"]
            os.environ.update(saved)
        done = Done(status, captured.out, captured.err)
        assert status == code, (args, done)
        if code != exit_codes.OK:
            assert "Traceback" not in done.err and len(done.err.strip().splitlines()) <= 1, done
        return done


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger with one article ingested from desk/article.txt (built once)."""
    base = tmp_path_factory.mktemp("built")
    (base / "desk").mkdir()
    (base / "desk" / "article.txt").write_text(ARTICLE)
    done = run_cli(base / "home", "ingest", str(base / "desk" / "article.txt"))
    assert done.returncode == 0, done.stderr
    return base


@pytest.fixture
def home(built: Path, tmp_path: Path) -> Path:
    """A copy of the built ledger for one test, with its article at the same path."""
    shutil.copytree(built / "home", tmp_path / "home")
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(home, capsys)


def _claim_ids(cli: Cli) -> list[str]:
    document = cli("claims", "--json").json()
    assert isinstance(document, dict)
    return [c["claim_id"] for c in document["claims"]]


# full ids, prefixes and global IDs ------------------------------------------------------


def test_claims_prints_full_ids_and_claim_commands_take_a_prefix_or_global_id(cli: Cli) -> None:
    ids = _claim_ids(cli)
    assert ids and all(len(i) == 64 for i in ids)
    table = cli("claims").out
    assert all(i in table for i in ids)  # the table shows every id in full
    first = ids[0]
    for named in (first, first[:8], first[:6].upper(), global_id("Claim", first)):
        shown = cli("claim", "show", named, "--json").json()
        assert isinstance(shown, dict) and shown["claim_id"] == first
        history = cli("claim", "history", named, "--json").json()
        assert isinstance(history, dict) and history["claim_id"] == first
    assert "claim.extracted" in cli("claim", "history", first[:8]).out
    reviewed = cli("claim", "review", first[:10], "--rating", "Accurate").out
    assert f"claim {first} reviewed" in reviewed
    short = cli("claim", "show", first[:3], code=exit_codes.USAGE)
    assert "too short: give at least 6 hex digits" in short.err
    unknown = cli("claim", "show", "000000", code=exit_codes.NOT_FOUND)
    assert "no claim id in the ledger starts with 000000" in unknown.err
    wrong_type = cli("claim", "show", global_id("Source", first), code=exit_codes.USAGE)
    assert "global ID of a Source" in wrong_type.err
    missing = cli("claim", "show", "0" * 64, code=exit_codes.NOT_FOUND)
    assert "is not in the ledger" in missing.err


def test_keys_revoke_takes_a_name_or_prefix_and_refuses_a_malformed_or_ambiguous_id(
    cli: Cli, home: Path
) -> None:
    created = cli("keys", "create", "alice", "--role", "reviewer", "--no-passphrase").out
    key_id = created.split()[2]
    malformed = cli("keys", "revoke", "zzz", "--reason", "x", code=exit_codes.USAGE)
    assert malformed.err.startswith("error: no key is named 'zzz' and it is not a key id: ")
    db = sqlite3.connect(home / "ledger.sqlite3")
    for n in (1, 2):  # two keys sharing a 7-digit prefix, written straight into the table
        db.execute(
            "INSERT INTO keys (key_id, name, public_key, roles, registered_seq) "
            "VALUES (?, ?, ?, '[\"reviewer\"]', 1)",
            (f"abcdef0{n}" + "0" * 56, f"twin{n}", b"\0" * 32),
        )
    db.commit()
    db.close()
    ambiguous = cli("keys", "revoke", "abcdef0", "--reason", "x", code=exit_codes.USAGE)
    assert "key id prefix abcdef0 is ambiguous: it matches abcdef01" in ambiguous.err
    assert "give more digits" in ambiguous.err
    revoked = cli("keys", "revoke", key_id[:8], "--reason", "left the desk").out
    assert f"key {key_id} revoked at entry" in revoked
    by_name = cli("keys", "revoke", "alice", "--reason", "again", code=exit_codes.REFUSED)
    assert "revoked" in by_name.err  # found by name; refused by the ledger's rules


def test_prove_takes_a_sequence_number_or_an_entry_hash_prefix(cli: Cli) -> None:
    entries = [json.loads(line) for line in cli("log", "--json").out.splitlines()]
    last = entries[-1]
    by_seq = cli("prove", str(last["seq"])).out
    by_hash = cli("prove", last["hash"][:10]).out
    assert by_seq == by_hash and by_seq.startswith("c2sp.org/tlog-proof@v1")


# sources by location ---------------------------------------------------------------------


def test_ingest_json_says_what_each_document_added(cli: Cli, built: Path) -> None:
    article = built / "desk" / "article.txt"
    again = cli("ingest", str(article), "--json").json()
    assert isinstance(again, dict) and again["added"] == 0 and again["claims"] == 0
    [document] = again["documents"]
    assert document["read_from"] == str(article) and document["added"] is False
    assert len(document["sha256"]) == 64


def test_a_source_is_found_by_the_path_it_was_ingested_from(
    cli: Cli, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = built / "desk" / "article.txt"
    ids = _claim_ids(cli)
    listed = cli("sources", "--json").json()
    assert isinstance(listed, dict) and listed["count"] == 1
    [source] = listed["sources"]
    assert source["locations"] == [str(article.resolve())]
    sha = source["sha256"]
    monkeypatch.chdir(built / "desk")
    for named in ("article.txt", "./article.txt", str(article), sha, sha[:8]):
        found = cli("claims", "--source", named, "--json").json()
        assert isinstance(found, dict)
        assert [c["claim_id"] for c in found["claims"]] == ids, named
    assert str(article.resolve()) in cli("sources").out
    nowhere = cli("claims", "--source", "elsewhere.txt", code=exit_codes.NOT_FOUND)
    assert "no source was read from" in nowhere.err and "elsewhere.txt" in nowhere.err
    cli("reextract", "article.txt", code=exit_codes.REFUSED)  # found; already extracted


# --json ------------------------------------------------------------------------------------


def test_every_listing_and_show_command_prints_json(cli: Cli) -> None:
    ids = _claim_ids(cli)
    documents = {
        "claims": cli("claims", "--json").json(),
        "sources": cli("sources", "--json").json(),
        "keys": cli("keys", "list", "--json").json(),
        "status": cli("status", "--json").json(),
        "tokens": cli("tokens", "list", "--json").json(),
        "claimants": cli("claimants", "--json").json(),
        "lines": cli("lines", "--json", "--min-sources", "1").json(),
        "verify": cli("verify", "--json").json(),
        "show": cli("claim", "show", ids[0], "--json").json(),
        "history": cli("claim", "history", ids[0], "--json").json(),
    }
    assert all(isinstance(d, dict) for d in documents.values())
    claims, keys, status = documents["claims"], documents["keys"], documents["status"]
    assert isinstance(claims, dict) and claims["count"] == len(ids)
    assert isinstance(keys, dict) and {k["name"] for k in keys["keys"]} == {"log", "ingest"}
    assert all(len(k["key_id"]) == 64 and k["local_key_file"] for k in keys["keys"])
    assert isinstance(status, dict) and status["entries"] == 3 + len(ids)
    assert status["kinds"]["claim.extracted"] == len(ids)
    verified = documents["verify"]
    assert isinstance(verified, dict) and verified["ok"] is True
    assert verified["entries"] == status["entries"] and verified["head"] == status["head"]
    history = documents["history"]
    assert isinstance(history, dict) and history["history"][0]["kind"] == "claim.extracted"
    assert documents["tokens"] == {"tokens": [], "count": 0}
    claimants = documents["claimants"]
    assert isinstance(claimants, dict) and claimants["count"] == len(claimants["claimants"])
    lines = cli("log", "--json", "--from", "1", "--limit", "3").out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert all(json.loads(r["entry"])["body"]["seq"] == r["seq"] for r in records)


def test_verify_json_reports_a_failure_and_exits_2(cli: Cli, home: Path) -> None:
    db = sqlite3.connect(home / "ledger.sqlite3")
    db.execute("UPDATE claims SET statement = 'forged' WHERE seq = 3")
    db.commit()
    db.close()
    failed = cli("verify", "--json", code=exit_codes.VERIFICATION_FAILED)
    report = failed.json()
    assert isinstance(report, dict) and report["ok"] is False and report["error"]
    assert failed.err.startswith("verification failed: ")


# errors and exit statuses --------------------------------------------------------------------


def test_limits_below_one_are_usage_errors(cli: Cli) -> None:
    for args in (
        ("log", "--limit", "-5"),
        ("log", "--limit", "0"),
        ("log", "--from", "-1"),
        ("claims", "--limit", "0"),
        ("claims", "--limit", "1001"),
        ("sources", "--limit", "0"),
        ("claimants", "--limit", "-1"),
    ):
        done = cli(*args, code=exit_codes.USAGE)
        assert done.err.startswith("usage error: ") and "--help" in done.err, args
        assert done.out == ""


def test_unsupported_url_schemes_are_refused_and_write_nothing(cli: Cli) -> None:
    before = cli("status", "--json").json()
    refused = cli("ingest", "ftp://example.com/article.txt", code=exit_codes.USAGE)
    assert "unsupported scheme 'ftp'" in refused.err
    assert "give an http(s) URL or a local path" in refused.err
    assert cli("status", "--json").json() == before


def test_submit_of_a_missing_file_says_so_in_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = cli("submit", str(tmp_path / "nope.json"), code=exit_codes.REFUSED)
    assert missing.err.strip() == (
        f"error: {tmp_path / 'nope.json'}: no such file; give the path of the file holding "
        "the signed entry"
    )


def test_an_unreachable_database_is_one_line_and_exit_5(tmp_path: Path) -> None:
    url = "postgresql://postgres:secret@127.0.0.1:1/test"
    for command in (("status",), ("serve", "--port", "1"), ("claims",)):
        done = run_cli(tmp_path / "home", *command, LEDGER_DATABASE_URL=url)
        assert done.returncode == exit_codes.UNAVAILABLE, done.stderr
        assert "Traceback" not in done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("error: database postgresql+psycopg://postgres:***@127.0.0.1:1/")
        assert "unreachable" in line and "LEDGER_DATABASE_URL" in line
        assert "secret" not in done.stderr + done.stdout


def test_exit_statuses_are_distinct_and_errors_map_to_them() -> None:
    codes = [
        exit_codes.OK,
        exit_codes.REFUSED,
        exit_codes.VERIFICATION_FAILED,
        exit_codes.NOT_FOUND,
        exit_codes.USAGE,
        exit_codes.UNAVAILABLE,
    ]
    assert len(set(codes)) == len(codes) == len(exit_codes.NAMES)
    assert exit_codes.VERIFICATION_FAILED == 2  # what verify and client promised first
    cases = {
        VerificationError("x"): exit_codes.VERIFICATION_FAILED,
        SignatureError("x"): exit_codes.VERIFICATION_FAILED,
        NotFound("x"): exit_codes.NOT_FOUND,
        UsageError("x"): exit_codes.USAGE,
        Unavailable("x"): exit_codes.UNAVAILABLE,
        TimedOut("x"): exit_codes.UNAVAILABLE,
        InvalidInput("x"): exit_codes.REFUSED,
        FormatError("x"): exit_codes.REFUSED,
        Conflict("x"): exit_codes.REFUSED,
        StorageError("x"): exit_codes.REFUSED,
    }
    for error, code in cases.items():
        assert exit_codes.for_error(error) == code, error


# output for people and for pipes ----------------------------------------------------------------


def test_tables_are_not_cut_when_piped(home: Path) -> None:
    """No COLUMNS: a pipe used to get an 80-column table with wrapped statements."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    environ.pop("COLUMNS", None)
    environ["LEDGER_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "claims"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "harbour master" in line]
    assert len(rows) == 1 and "40 ships were waiting outside the port" in rows[0], done.stdout
    assert "…" not in done.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["--version"]) == exit_codes.OK
    printed = capsys.readouterr().out
    assert printed.startswith("claims-ledger 0.1.0 (extractor rules ")


def _commands() -> Iterator[tuple[list[str], object]]:
    """Every command and group of the command line, with its path."""
    import typer.main

    root = typer.main.get_command(app)

    def walk(command: object, path: list[str]) -> Iterator[tuple[list[str], object]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(root, [])


def test_help_is_written_for_people(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per option's help
    helps = {}
    for path, command in _commands():
        assert run_main([*path, "--help"]) == exit_codes.OK, path
        text = capsys.readouterr().out
        helps[" ".join(path)] = text
        for tag in ("``", "<bool>", "<str>", "<int>", "<path>", "<float>", "list[str]"):
            assert tag not in text, (path, tag)
        for param in getattr(command, "params", []):
            if getattr(param, "param_type_name", "") == "option":
                assert getattr(param, "help", None), (path, param.name)
    assert len(helps) > 30
    assert (
        "Signer keys: create, list, revoke; rotate the log key." in helps["keys"]
    )  # no "register"
    assert "create, register" not in helps["keys"]
    assert "--passphrase" in helps["keys create"] and "unencrypted" not in helps["keys create"]
    assert "Only claims with at least one review" in helps["claims"]
    for listing in ("claims", "sources", "keys list", "log", "status", "claim show"):
        assert "--json" in helps[listing], listing


def test_dev_py_help_prints_usage() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and "python3 dev.py test" in done.stdout
    unknown = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "nonsense"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert unknown.returncode == 2 and "dev.py --help" in unknown.stdout


def test_docs_cli_lists_the_exit_statuses_of_ledger_exit_codes() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| ")]
    documented = {int(cells[1]): cells[2].strip() for cells in rows if cells[1].strip().isdigit()}
    assert documented == exit_codes.NAMES


def test_docs_cli_names_every_command_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    with_json = []
    for path, command in _commands():
        names = [getattr(p, "name", None) for p in getattr(command, "params", [])]
        if "json_" in names:
            with_json.append(" ".join(path))
    assert len(with_json) >= 11
    for command_path in with_json:
        assert f"`{command_path} " in text, command_path


def test_claimant_commands_take_claim_prefixes(cli: Cli) -> None:
    ids = _claim_ids(cli)
    assert cli("lines", "--claimant", ids[0][:8], "--min-sources", "1", "--json").json()
    missing = cli("lines", "--claimant", "000000", code=exit_codes.NOT_FOUND)
    assert "no claim or claimant id in the ledger starts with 000000" in missing.err
    short = cli("link", ids[0][:4], ids[1], "--reason", "same", code=exit_codes.USAGE)
    assert "too short" in short.err
    wrong = global_id("Source", ids[0])
    refused = cli("unlink", ids[0], wrong, "--reason", "apart", code=exit_codes.USAGE)
    assert "global ID of a Source, not a claim or claimant id" in refused.err


def test_a_database_file_that_cannot_be_created_is_one_line_and_exit_5(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker}/ledger.sqlite3"
    done = run_cli(tmp_path / "home", "status", LEDGER_DATABASE_URL=url)
    assert done.returncode == exit_codes.UNAVAILABLE, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: database file in {blocker} cannot be created")
    assert "LEDGER_HOME or LEDGER_DATABASE_URL" in line


def test_a_source_fetched_over_http_is_found_by_its_url(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = ARTICLE.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/harbour"
    home = tmp_path / "home"
    allow = {"LEDGER_FETCH_ALLOW_PRIVATE": "true", "NO_PROXY": "127.0.0.1"}
    try:
        done = run_cli(home, "ingest", url, **allow)
        assert done.returncode == 0, done.stderr
    finally:
        httpd.shutdown()
    listed = json.loads(run_cli(home, "sources", "--json").stdout)
    [source] = listed["sources"]
    assert source["uri"] == url and source["locations"] == [url]
    found = json.loads(run_cli(home, "claims", "--source", url, "--json").stdout)
    assert found["count"] >= 1
    assert all(c["source_sha256"] == source["sha256"] for c in found["claims"])
