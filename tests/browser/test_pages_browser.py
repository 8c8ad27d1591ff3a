"""The pages in a real browser: Debian's chromium, headless, through its chromedriver.

Each page is loaded over HTTP from a served ledger on 127.0.0.1 (SQLite and PostgreSQL),
its content checked, its links followed, and every request the browser made (Chrome's
performance log: CDP ``Network.requestWillBeSent``) must go to 127.0.0.1. Under
``CI=true`` a missing chromium or chromedriver fails these tests; elsewhere they skip.
With ``PAGES_SCREENSHOTS=1`` the main pages are saved to ``docs/pages/*.png``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.served_pages import DATABASES, REVISED_STATEMENT, ServedPages, served_pages

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "pages"
LOCAL_SCHEMES = ("data", "about", "blob", "chrome", "devtools")


def _require_browser() -> None:
    missing = [n for n, p in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not p]
    if not missing:
        return
    message = f"{' and '.join(missing)} not found: apt-get install chromium chromium-driver"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; under CI=true the browser tests are mandatory")
    pytest.skip(message)


@pytest.fixture(scope="module", params=DATABASES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedPages]:
    _require_browser()
    with served_pages(request.param, tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture(scope="module")
def browser(site: ServedPages) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _requested(driver: object) -> list[str]:
    """Every URL the browser asked for since the last call (CDP network events)."""
    urls = []
    for record in driver.get_log("performance"):  # type: ignore[attr-defined]
        message = json.loads(record["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _assert_local(urls: list[str]) -> None:
    assert urls, "the performance log recorded no requests"
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            continue
        assert parts.hostname == "127.0.0.1", f"a request left 127.0.0.1: {url}"


def _shot(driver: object, name: str, site: ServedPages) -> None:
    if os.environ.get("PAGES_SCREENSHOTS") == "1" and site.db == "sqlite":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def _no_console_errors(driver: object) -> None:
    errors = [
        e
        for e in driver.get_log("browser")  # type: ignore[attr-defined]
        if e["level"] == "SEVERE" and "favicon" not in e["message"]
    ]
    assert not errors, errors


def test_browse_follow_links_through_every_page(browser: object, site: ServedPages) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser
    d.get(site.url + "/claims")  # type: ignore[attr-defined]
    assert f"{len(site.claims)} claims match" in d.find_element(By.ID, "claim-count").text  # type: ignore[attr-defined]
    _shot(d, "claims", site)
    # the search form is a GET form: submitting it gives a shareable URL
    box = d.find_element(By.NAME, "search")  # type: ignore[attr-defined]
    box.send_keys("containers")
    d.find_element(By.CSS_SELECTOR, "#search-form button").click()  # type: ignore[attr-defined]
    # A click on submit does not wait for the next page: wait for its URL, then its list.
    WebDriverWait(d, 20).until(lambda w: "search=containers" in w.current_url)
    WebDriverWait(d, 20).until(lambda w: w.find_elements(By.CLASS_NAME, "claim-link"))
    links = d.find_elements(By.CLASS_NAME, "claim-link")  # type: ignore[attr-defined]
    target = next(link for link in links if link.text == REVISED_STATEMENT)
    target.click()
    assert d.find_element(By.ID, "statement").text == REVISED_STATEMENT  # type: ignore[attr-defined]
    quote = d.find_element(By.ID, "quote")  # type: ignore[attr-defined]
    assert quote.text and quote.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    assert "ministry correction" in d.find_element(By.ID, "history").text  # type: ignore[attr-defined]
    provenance = d.find_element(By.ID, "provenance")  # type: ignore[attr-defined]
    assert len(provenance.find_elements(By.CSS_SELECTOR, "tr.link")) == 4
    assert not provenance.find_elements(By.CSS_SELECTOR, "td.bad")
    _shot(d, "claim", site)
    claim_url = d.current_url  # type: ignore[attr-defined]

    d.find_element(By.ID, "source-link").click()  # type: ignore[attr-defined]
    text = d.find_element(By.ID, "source-text")  # type: ignore[attr-defined]
    assert text.find_elements(By.CSS_SELECTOR, "mark.claim-quote")
    assert d.find_element(By.ID, "download").get_attribute("href").endswith("/raw")  # type: ignore[attr-defined]
    _shot(d, "source", site)

    d.get(claim_url)  # type: ignore[attr-defined]
    d.find_element(By.ID, "claimant-link").click()  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "claimant-name").text  # type: ignore[attr-defined]
    _shot(d, "claimant", site)
    lines = d.find_elements(By.CSS_SELECTOR, "#claimant-lines a.line-link")  # type: ignore[attr-defined]
    if lines:
        lines[0].click()
        chart = d.find_element(By.ID, "line-chart")  # type: ignore[attr-defined]
        assert chart.find_elements(By.TAG_NAME, "circle")
        _shot(d, "line", site)

    d.find_element(By.LINK_TEXT, "Log").click()  # type: ignore[attr-defined]
    assert d.find_elements(By.CSS_SELECTOR, "#checkpoints tr")  # type: ignore[attr-defined]
    assert "log" in d.find_element(By.ID, "keys").text  # type: ignore[attr-defined]
    _shot(d, "log", site)
    d.find_element(By.CSS_SELECTOR, "#entries a").click()  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "entry-base64").text  # type: ignore[attr-defined]
    _no_console_errors(d)
    _assert_local(_requested(d))


def test_error_pages_in_the_browser(browser: object, site: ServedPages) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site.url + "/claims/" + "0" * 64)  # type: ignore[attr-defined]
    assert "is not in the ledger" in browser.find_element(By.ID, "error-message").text  # type: ignore[attr-defined]
    browser.get(site.url + "/claims?made_from=2020-13-40")  # type: ignore[attr-defined]
    assert "made_from" in browser.find_element(By.ID, "error-message").text  # type: ignore[attr-defined]
    _assert_local(_requested(browser))
    browser.get_log("browser")  # type: ignore[attr-defined]  # the 404 and 400 are expected


def test_log_as_of_through_its_form_and_unknown_paths(browser: object, site: ServedPages) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser
    d.get(site.url + "/log")  # type: ignore[attr-defined]
    sizes = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#checkpoints a.as-of-link")]  # type: ignore[attr-defined]
    older = sizes[2]
    box = d.find_element(By.CSS_SELECTOR, "#as-of-form input[name=as_of]")  # type: ignore[attr-defined]
    box.send_keys(older)
    d.find_element(By.CSS_SELECTOR, "#as-of-form button").click()  # type: ignore[attr-defined]
    wait = WebDriverWait(d, 20)  # a click on submit does not wait for the next page
    wait.until(lambda w: w.find_elements(By.ID, "as-of"))
    assert f"as_of={older}" in d.current_url  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "as-of").text == older  # type: ignore[attr-defined]
    shown = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#checkpoints a.as-of-link")]  # type: ignore[attr-defined]
    assert shown == sizes[2 : 2 + len(shown)] and all(int(n) <= int(older) for n in shown)
    seqs = [int(a.text) for a in d.find_elements(By.CSS_SELECTOR, "#entries a")]  # type: ignore[attr-defined]
    assert max(seqs) == int(older) - 1
    _shot(d, "log-as-of", site)
    d.find_element(By.ID, "log-now").click()  # type: ignore[attr-defined]
    wait.until(lambda w: not w.find_elements(By.ID, "as-of"))
    assert "as_of" not in d.current_url  # type: ignore[attr-defined]
    d.get(site.url + "/no/such/page")  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "error-message").text == "nothing is served at this address"  # type: ignore[attr-defined]
    _assert_local(_requested(d))
    d.get_log("browser")  # type: ignore[attr-defined]  # the 404 is expected


def test_graphiql_runs_the_example_without_a_cdn(browser: object, site: ServedPages) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    _requested(browser)
    browser.get(site.url + "/graphql")  # type: ignore[attr-defined]
    wait = WebDriverWait(browser, 20)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".graphiql-container")))
    wait.until(
        lambda d: "LatestClaims" in d.find_element(By.CSS_SELECTOR, ".graphiql-query-editor").text
    )
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()  # type: ignore[attr-defined]
    wait.until(lambda d: "totalCount" in d.find_element(By.CSS_SELECTOR, ".graphiql-response").text)
    assert str(len(site.claims)) in browser.find_element(By.CSS_SELECTOR, ".graphiql-response").text  # type: ignore[attr-defined]
    _shot(browser, "graphiql", site)
    _no_console_errors(browser)
    _assert_local(_requested(browser))


# -- verified in the browser ----------------------------------------------------------------


def _verify_data(browser: object, site: ServedPages) -> dict[str, object]:
    from selenium.webdriver.common.by import By

    browser.get(f"{site.url}/claims/{site.revised}")  # type: ignore[attr-defined]
    holder = browser.find_element(By.ID, "verify-data")  # type: ignore[attr-defined]
    return json.loads(holder.get_attribute("textContent"))  # type: ignore[no-any-return]


def _verdict(browser: object) -> tuple[str, str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "verification-verdict"))
    verdict = browser.find_element(By.ID, "verification-verdict").text  # type: ignore[attr-defined]
    details = browser.find_element(By.ID, "verification-details").text  # type: ignore[attr-defined]
    return verdict, details


def _in_browser(
    browser: object, data: dict[str, object], pinned: str | None = None
) -> dict[str, object]:
    script = (
        "const done = arguments[arguments.length - 1];"
        "window.claimsLedger.verify(arguments[0], arguments[1]).then(done,"
        " e => done({ok: false, failures: ['threw: ' + e.message]}));"
    )
    return browser.execute_async_script(script, data, pinned)  # type: ignore[attr-defined,no-any-return]


def _proven_in_python(ref: dict[str, Any], checkpoint: Any) -> Any:
    """An entry given with its inclusion proof, parsed and proven (``ledger.merkle``)."""
    from ledger import merkle
    from ledger.entries import parse_entry
    from ledger.errors import VerificationError

    raw = base64.b64decode(ref["data"], validate=True)
    entry = parse_entry(raw, where=f"entry {ref['seq']}")
    if entry.seq != ref["seq"]:
        raise VerificationError(f"its body says seq {entry.seq}")
    if checkpoint is not None:
        if ref["size"] != checkpoint.size:
            raise VerificationError("proof for another tree size")
        proof = [base64.b64decode(h) for h in ref["proof"]]
        merkle.verify_inclusion(
            merkle.leaf_hash(raw), entry.seq, ref["size"], proof, checkpoint.root_hash
        )
    return entry


def _key_in_python(entry: Any, public_key: bytes, keys: dict[str, Any], checkpoint: Any) -> None:
    """The signer's key from its proven registration (and revocation) entries, then the
    ledger's own rule for a signer (``rules.check_signer``: valid at the entry, with the
    role its kind needs), as ``ledger/client.py`` builds a key's state."""
    from dataclasses import replace

    from ledger import rules
    from ledger.entries import KeyRegistered, KeyRevoked, LogKeyRotated
    from ledger.errors import VerificationError

    signer = entry.body.signer
    given = keys.get(signer)
    if not given or not given.get("registration"):
        raise VerificationError(f"no registration entry is given for its key {signer}")
    registration = _proven_in_python(given["registration"], checkpoint)
    payload = registration.body.payload
    if isinstance(payload, KeyRegistered) and payload.key_id == signer:
        key = rules.key_from_registration(payload, registration.seq)
    elif isinstance(payload, LogKeyRotated) and payload.key_id == signer:
        key = rules.key_from_rotation(payload, registration.seq)
    else:
        raise VerificationError(f"entry {registration.seq} does not register key {signer}")
    if key.public_key != public_key:
        raise VerificationError(f"entry {registration.seq} registers another public key")
    if given.get("revocation"):
        revocation = _proven_in_python(given["revocation"], checkpoint)
        revoking = revocation.body.payload
        if not (
            (isinstance(revoking, KeyRevoked) and revoking.key_id == signer)
            or (isinstance(revoking, LogKeyRotated) and revocation.body.signer == signer)
        ):
            raise VerificationError(f"entry {revocation.seq} does not revoke key {signer}")
        key = replace(key, revoked_seq=revocation.seq)
    rules.check_signer(entry, lambda k: key if k == signer else None)


def _in_python(data: dict[str, Any], pinned: str | None = None) -> list[str]:
    """The project's verifier on the same inputs: what fails, by the same names."""
    from ledger.checkpoint import parse_verifier_key, verify_checkpoint
    from ledger.completeness import check_served_latest
    from ledger.errors import LedgerError
    from ledger.signing import verify_entry_signature

    failures = []
    checkpoint = None
    try:
        verifier = parse_verifier_key(str(pinned or data["logKey"]))
        checkpoint = verify_checkpoint(str(data["checkpoint"]), verifier, str(data["origin"]))
    except LedgerError as exc:
        failures.append(f"checkpoint: {exc}")
    claim_hashes = []
    for link in data["links"]:
        where = f"entry #{link['seq']} ({link['role']})"
        try:
            entry = _proven_in_python(link, checkpoint)
            if link["role"] != "source":
                claim_hashes.append(entry.hash)
            public_key = base64.b64decode(link["publicKey"])
            verify_entry_signature(public_key, entry.body_bytes, entry.signature, where=where)
            _key_in_python(entry, public_key, data.get("keys") or {}, checkpoint)
        except (LedgerError, ValueError) as exc:
            failures.append(f"{where}: {exc}")
    if checkpoint is not None:
        try:
            check_served_latest(
                str(data["claimId"]), claim_hashes, data.get("stateProof"), checkpoint
            )
        except (LedgerError, ValueError) as exc:
            failures.append(f"state: {exc}")
    return failures


def _flip(b64: str, offset: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[offset] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_verified_in_the_browser_on_an_honest_ledger(browser: object, site: ServedPages) -> None:
    data = _verify_data(browser, site)
    verdict, details = _verdict(browser)
    assert verdict == "Verified in your browser", details
    assert len(details.splitlines()) == 2 + len(data["links"])  # type: ignore[arg-type]
    assert "state: the claim's latest entry at tree size" in details
    assert _in_browser(browser, data)["ok"] is True
    assert _in_python(data) == []
    browser.execute_script(  # type: ignore[attr-defined]
        "document.getElementById('provenance').scrollIntoView()"
    )
    _shot(browser, "claim-verified", site)


TAMPERINGS = {
    "entry body byte": lambda d: d["links"][1].update(data=_flip(d["links"][1]["data"], 20)),
    "entry signature": lambda d: d["links"][2].update(
        data=d["links"][2]["data"][:-8]
        + ("AAAA" if d["links"][2]["data"][-8:-4] != "AAAA" else "BBBB")
        + d["links"][2]["data"][-4:]
    ),
    "proof hash": lambda d: d["links"][0].update(
        proof=[_flip(d["links"][0]["proof"][0], 0), *d["links"][0]["proof"][1:]]
    ),
    "signer key": lambda d: d["links"][1].update(
        publicKey=d["links"][0]["publicKey"]
        if d["links"][0]["publicKey"] != d["links"][1]["publicKey"]
        else d["links"][3]["publicKey"]
    ),
    "checkpoint root": lambda d: d.update(checkpoint=_tamper_root(str(d["checkpoint"]))),
    # key validity: the signer's registration entry, its proof, or a revocation
    "key registration bytes": lambda d: _signer_keys(d, 1)["registration"].update(
        data=_flip(_signer_keys(d, 1)["registration"]["data"], 30)
    ),
    "key registration proof": lambda d: _signer_keys(d, 1)["registration"].update(
        proof=[_flip(h, 3) for h in _signer_keys(d, 1)["registration"]["proof"]]
    ),
    "key registration withheld": lambda d: _signer_keys(d, 1).update(registration=None),
    "key registration of another key": lambda d: (
        _signer_keys(d, 1).update(registration=_signer_keys(d, 3)["registration"])
        if _signer(d, 1) != _signer(d, 3)
        else _signer_keys(d, 1)["registration"].update(seq=0)
    ),
    # the state proof: a hidden later entry (the review left out), a proof byte, none
    "later entry hidden": lambda d: d.update(links=d["links"][:-1]),
    "state proof byte": lambda d: d.update(stateProof=_flip(d["stateProof"], 40)),
    "state proof withheld": lambda d: d.update(stateProof=None),
}


def _signer(data: dict[str, Any], index: int) -> str:
    body = base64.b64decode(data["links"][index]["data"])
    return str(json.loads(body[len(b'{"body":') : -(len(',"sig":"') + 88 + 2)])["signer"])


def _signer_keys(data: dict[str, Any], index: int) -> dict[str, Any]:
    return data["keys"][_signer(data, index)]  # type: ignore[no-any-return]


def _tamper_root(note: str) -> str:
    lines = note.split("\n")
    lines[2] = _flip(lines[2], 5)
    return "\n".join(lines)


@pytest.mark.parametrize("what", sorted(TAMPERINGS))
def test_tampered_inputs_fail_in_the_browser_and_in_python(
    browser: object, site: ServedPages, what: str
) -> None:
    data = json.loads(json.dumps(_verify_data(browser, site)))
    TAMPERINGS[what](data)
    result = _in_browser(browser, data)
    python = _in_python(data)
    assert result["ok"] is False and python, (what, result, python)
    if what.startswith("key"):
        assert any(f.startswith("entry #") for f in python), python
    if what.startswith(("later", "state")):
        assert [f.split(":")[0] for f in python] == ["state"], python
    # both name the same places (the entry, or the checkpoint)
    assert sorted(f.split(":")[0] for f in result["failures"]) == sorted(  # type: ignore[union-attr]
        f.split(":")[0] for f in python
    ), (result, python)


def test_a_pinned_key_that_is_not_the_log_key_fails(browser: object, site: ServedPages) -> None:
    from selenium.webdriver.common.by import By

    from ledger.checkpoint import verifier_key
    from ledger.signing import SigningKey

    data = _verify_data(browser, site)
    other = verifier_key(str(data["origin"]), SigningKey.generate("other").private.public_key())
    result = _in_browser(browser, data, other)
    assert result["ok"] is False
    assert any(
        f.startswith("checkpoint: the checkpoint has no signature") for f in result["failures"]
    )  # type: ignore[union-attr]
    assert _in_python(data, other)[0].startswith("checkpoint:")
    # pinned through the page's form, kept in the browser, then unpinned
    field = browser.find_element(By.ID, "pinned-key")  # type: ignore[attr-defined]
    field.clear()
    field.send_keys(other)
    browser.find_element(By.CSS_SELECTOR, "#pin-form button[type=submit]").click()  # type: ignore[attr-defined]
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.ID, "verification-verdict").text.startswith("Not verified")
    )
    browser.refresh()  # type: ignore[attr-defined]
    verdict, details = _verdict(browser)
    assert verdict == "Not verified in your browser" and "checkpoint" in details
    browser.find_element(By.ID, "unpin").click()  # type: ignore[attr-defined]
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.ID, "verification-verdict").text == "Verified in your browser"
    )


def test_zz_a_tampered_ledger_fails_in_the_browser(browser: object, site: ServedPages) -> None:
    """Last in the module: edits the served database as an attacker with access would."""
    import sqlalchemy as sa

    from ledger.store.tables import LOG_TABLES

    data = _verify_data(browser, site)
    review = data["links"][-1]  # type: ignore[index]
    raw = base64.b64decode(review["data"])
    assert b'"checked' in raw
    forged = raw.replace(b'"checked', b'"chocked', 1)
    engine = sa.create_engine(site.db_url)
    with engine.begin() as conn:
        for table in LOG_TABLES:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
            else:
                for action in ("update", "delete"):
                    conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        conn.execute(
            sa.text("UPDATE entries SET data = :d WHERE seq = :s"),
            {"d": forged, "s": review["seq"]},
        )
    engine.dispose()
    tampered = _verify_data(browser, site)
    assert base64.b64decode(tampered["links"][-1]["data"]) == forged  # type: ignore[index]
    verdict, details = _verdict(browser)
    assert verdict == "Not verified in your browser"
    assert f"entry #{review['seq']} (review)" in details, details
    assert _in_python(tampered)


def _forged_ledger(*, extraction_after_revocation: bool) -> dict[str, Any]:
    """The page's verification input for a small ledger built here, entry by entry: a log
    key, a writer key, a source, and the writer's key revoked either after the claim's
    extraction (honest) or before it (the extraction then signed by a revoked key, as a
    thief of that key with access to the database could write it). The tree, the
    claim-state map and the checkpoint over it are honest, so only key validity fails."""
    from ledger import merkle
    from ledger.checkpoint import STATE_MAP_PREFIX, Checkpoint, sign_checkpoint, verifier_key
    from ledger.entries import Body, KeyRegistered, KeyRevoked, sign_body
    from ledger.signing import SigningKey
    from ledger.statemap import StateMap, claim_key, source_key
    from tests.helpers import claim_payload, source_payload

    origin = "claims-ledger/forged"
    log_key, writer = SigningKey.generate("log"), SigningKey.generate("writer")

    def registration(key: SigningKey, roles: tuple[str, ...]) -> KeyRegistered:
        return KeyRegistered(
            key_id=key.key_id, name=key.name, public_key=key.public_key_b64, roles=roles
        )

    source = source_payload(0)
    steps: list[tuple[SigningKey, str, Any]] = [
        (log_key, "key.registered", registration(log_key, ("admin", "reviewer"))),
        (log_key, "key.registered", registration(writer, ("writer",))),
        (writer, "source.registered", source),
    ]
    revoke = (log_key, "key.revoked", KeyRevoked(key_id=writer.key_id, reason="stolen"))
    extract = (writer, "claim.extracted", None)
    steps += [revoke, extract] if extraction_after_revocation else [extract, revoke]
    entries: list[Any] = []
    for seq, (key, kind, payload) in enumerate(steps):
        if kind == "claim.extracted":
            payload = claim_payload(entries[2].hash.hex(), source.sha256)
        body = Body(
            log=origin,
            seq=seq,
            prev=entries[-1].hash if entries else None,
            ts="2025-01-02T03:04:05.000006Z",
            kind=kind,  # type: ignore[arg-type]
            signer=key.key_id,
            payload=payload,
        )
        entries.append(sign_body(body, key))
    leaves = [merkle.Hash(e.hash) for e in entries]
    extraction = next(e for e in entries if e.kind == "claim.extracted")
    registered, revoked = entries[1].seq, next(e for e in entries if e.kind == "key.revoked").seq
    state = StateMap(
        [
            (claim_key(extraction.hash), extraction.hash),
            (source_key(bytes.fromhex(source.sha256)), entries[2].hash),
        ]
    )
    line = STATE_MAP_PREFIX + base64.b64encode(state.root).decode()
    note = sign_checkpoint(
        Checkpoint(origin, len(entries), merkle.reference_root(leaves), (line,)),
        origin,
        log_key.private,
    )

    def ref(seq: int) -> dict[str, Any]:
        proof = merkle.reference_inclusion_proof(seq, leaves)
        return {
            "seq": seq,
            "data": base64.b64encode(entries[seq].data).decode(),
            "proof": [base64.b64encode(h).decode() for h in proof],
            "size": len(entries),
        }

    links = [
        {**ref(e.seq), "role": role, "publicKey": writer.public_key_b64}
        for e, role in ((entries[2], "source"), (extraction, "extraction"))
    ]
    return {
        "origin": origin,
        "claimId": extraction.hash.hex(),
        "checkpoint": note,
        "logKey": verifier_key(origin, log_key.private.public_key()),
        "keys": {writer.key_id: {"registration": ref(registered), "revocation": ref(revoked)}},
        "stateProof": base64.b64encode(state.prove(claim_key(extraction.hash)).to_bytes()).decode(),
        "links": links,
    }


def test_a_link_signed_by_a_key_revoked_before_it_fails_saying_where(
    browser: object, site: ServedPages
) -> None:
    _verify_data(browser, site)  # any page with verify.js
    honest = _forged_ledger(extraction_after_revocation=False)
    assert _in_python(honest) == []
    assert _in_browser(browser, honest)["ok"] is True
    forged = _forged_ledger(extraction_after_revocation=True)
    result = _in_browser(browser, forged)
    python = _in_python(forged)
    assert result["ok"] is False
    assert result["failures"] == [
        "entry #4 (extraction): its key writer was revoked at entry #3, before it"
    ]
    assert python == [
        f"entry #4 (extraction): entry 4: key writer ({_signer(forged, 1)}) was revoked at entry 3"
    ]
    # the server leaving the revocation out hides it from the browser as from a client
    # that trusts the server's key list (the page says so; `client sync` replays keys)
    hidden = json.loads(json.dumps(forged))
    next(iter(hidden["keys"].values()))["revocation"] = None
    assert _in_browser(browser, hidden)["ok"] is True and _in_python(hidden) == []
