"""The pages in a real browser: Debian's chromium, headless, through its chromedriver.

Each page is loaded over HTTP from a served ledger on 127.0.0.1 (SQLite and PostgreSQL),
its content checked, its links followed, and every request the browser made (Chrome's
performance log: CDP ``Network.requestWillBeSent``) must go to 127.0.0.1. Under
``CI=true`` a missing chromium or chromedriver fails these tests; elsewhere they skip.
With ``PAGES_SCREENSHOTS=1`` the main pages are saved to ``docs/pages/*.png``.
"""

from __future__ import annotations

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
