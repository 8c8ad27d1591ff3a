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

    d = browser
    d.get(site.url + "/claims")  # type: ignore[attr-defined]
    assert f"{len(site.claims)} claims match" in d.find_element(By.ID, "claim-count").text  # type: ignore[attr-defined]
    _shot(d, "claims", site)
    # the search form is a GET form: submitting it gives a shareable URL
    box = d.find_element(By.NAME, "search")  # type: ignore[attr-defined]
    box.send_keys("containers")
    d.find_element(By.CSS_SELECTOR, "#search-form button").click()  # type: ignore[attr-defined]
    assert "search=containers" in d.current_url  # type: ignore[attr-defined]
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


def _in_python(data: dict[str, object], pinned: str | None = None) -> list[str]:
    """The project's verifier on the same inputs: what fails, by the same names."""
    from ledger import merkle
    from ledger.checkpoint import parse_verifier_key, verify_checkpoint
    from ledger.entries import parse_entry
    from ledger.errors import LedgerError
    from ledger.signing import verify_entry_signature

    failures = []
    checkpoint = None
    try:
        verifier = parse_verifier_key(str(pinned or data["logKey"]))
        checkpoint = verify_checkpoint(str(data["checkpoint"]), verifier, str(data["origin"]))
    except LedgerError as exc:
        failures.append(f"checkpoint: {exc}")
    for link in data["links"]:  # type: ignore[attr-defined]
        where = f"entry #{link['seq']} ({link['role']})"
        try:
            raw = base64.b64decode(link["data"], validate=True)
            entry = parse_entry(raw, where=where)
            verify_entry_signature(
                base64.b64decode(link["publicKey"]), entry.body_bytes, entry.signature, where=where
            )
            if checkpoint is not None:
                proof = [base64.b64decode(h) for h in link["proof"]]
                if link["size"] != checkpoint.size:
                    raise LedgerError("proof for another tree size")
                merkle.verify_inclusion(
                    merkle.leaf_hash(raw), link["seq"], link["size"], proof, checkpoint.root_hash
                )
        except (LedgerError, ValueError) as exc:
            failures.append(f"{where}: {exc}")
    return failures


def _flip(b64: str, offset: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[offset] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_verified_in_the_browser_on_an_honest_ledger(browser: object, site: ServedPages) -> None:
    data = _verify_data(browser, site)
    verdict, details = _verdict(browser)
    assert verdict == "Verified in your browser", details
    assert len(details.splitlines()) == 1 + len(data["links"])  # type: ignore[arg-type]
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
}


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
