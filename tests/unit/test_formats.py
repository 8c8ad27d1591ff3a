"""HTML and Markdown bytes to a SourceDocument: main text kept, boilerplate and markup gone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger.errors import InvalidInput
from ledger.formats import media_type_for_path, parse_bytes, parse_html, parse_markdown
from ledger.sources import normalize_text

ARTICLE = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Minister says exports rose 12% | The Daily Ledger</title>
<meta property="og:site_name" content="The Daily Ledger">
<meta property="og:title" content="Minister says exports rose 12%">
<meta property="article:published_time" content="2024-03-20T08:30:00+00:00">
</head>
<body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/subscribe">Subscribe now</a></li></ul></nav></header>
<div class="ad-banner">Advertisement: buy the best widgets today, 50% off!</div>
<main><article>
<h1>Minister says exports rose 12%</h1>
<p>The trade minister said on Tuesday that exports rose 12 percent in 2023, the fastest
growth in a decade, driven by strong demand for semiconductors.</p>
<p>"We expect the trend to continue," the minister told reporters in the capital, adding
that the government would publish full figures next month.</p>
<h2>Opposition doubts</h2>
<p>The opposition leader disputed the figure, saying independent estimates put growth
closer to 8 percent and that the ministry had changed its methodology.</p>
<ul><li>Exports: 12 percent</li><li>Imports: 3 percent</li></ul>
<p>Economists at the central bank said the data were broadly consistent with their own
forecasts.<br>Full tables follow next month.</p>
</article></main>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Ten things you missed</a></li>
<li><a href="/b">Sign up for our newsletter</a></li></ul></aside>
<footer><p>&copy; 2024 The Daily Ledger. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> | <a href="/terms">Terms of use</a></p></footer>
</body>
</html>
"""

BOILERPLATE_ONLY = b"""<!DOCTYPE html><html><head><title>The Daily Ledger</title></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav></header>
<div class="ad">Advertisement</div>
<footer><p>&copy; 2024 The Daily Ledger. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a></p></footer></body></html>"""

LATIN1_BODY = """<html><head>{meta}<title>Café prices</title></head><body>
<nav><a href="/">Accueil</a></nav><article><h1>Café prices</h1>
<p>The price of a café crème in Zürich rose to 5.20 francs last year, the statistics
office said after surveying 1,200 cafés in the city.</p>
<p>Owners blamed the cost of milk and rent; critics called the survey \x93naïve\x94.</p>
</article></body></html>"""


def latin1_page(meta: str) -> bytes:
    # \x93 and \x94 are cp1252's curly quotes, which pages declared as latin-1 use.
    return LATIN1_BODY.format(meta=meta).encode("latin-1")


def test_article_keeps_main_paragraphs_and_drops_boilerplate() -> None:
    doc = parse_html(ARTICLE, where="article.html", uri="https://news.example/a")
    assert doc.text.startswith("Minister says exports rose 12%\n\nThe trade minister said")
    assert "fastest growth in a decade" in doc.text  # source line break is a space
    assert "\n\nOpposition doubts\n\n" in doc.text
    assert "\n\nExports: 12 percent\nImports: 3 percent\n\n" in doc.text
    assert doc.text.endswith("own forecasts.\nFull tables follow next month.")
    for boilerplate in ("Subscribe", "Advertisement", "Related stories", "newsletter", "Privacy"):
        assert boilerplate not in doc.text
    assert doc.text == normalize_text(doc.text)


def test_article_metadata() -> None:
    doc = parse_html(ARTICLE, where="article.html", uri="https://news.example/a")
    assert doc.title == "Minister says exports rose 12%"
    assert doc.publisher == "The Daily Ledger"
    assert doc.published == dt.date(2024, 3, 20)
    assert (doc.media_type, doc.uri, doc.data) == ("text/html", "https://news.example/a", ARTICLE)
    assert doc.retrieved_at is None


def test_metadata_is_optional_and_no_date_is_invented() -> None:
    page = (
        b"<html><body><article><p>The council voted to close the library, which served four"
        b" thousand readers a week across the district.</p></article>"
        b"<footer>&copy; 2021 Example</footer></body></html>"
    )
    doc = parse_html(page, where="p.html")
    assert doc.text.startswith("The council voted")
    assert (doc.title, doc.publisher, doc.published) == (None, None, None)


def test_charset_from_the_meta_tag() -> None:
    doc = parse_html(latin1_page('<meta charset="ISO-8859-1">'), where="latin1.html")
    assert "café crème in Zürich" in doc.text
    assert "called the survey “naïve”." in doc.text
    assert doc.title == "Café prices"


def test_charset_from_http_equiv_and_from_the_media_type_parameter() -> None:
    equiv = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    assert "Zürich" in parse_html(latin1_page(equiv), where="x").text
    bare = latin1_page("")
    doc = parse_bytes(bare, media_type="text/html; charset=ISO-8859-1", where="x")
    assert "Zürich" in doc.text
    # The charset stays in the media type a source is registered with, so that its bytes
    # parsed again by that media type (when they are rechecked) give the same text.
    assert doc.media_type == "text/html; charset=ISO-8859-1"
    assert parse_bytes(bare, media_type=doc.media_type, where="x").text == doc.text
    with pytest.raises(InvalidInput, match="not valid utf-8"):
        parse_bytes(bare, media_type="text/html", where="x")


def test_byte_order_mark_wins_over_a_wrong_declaration() -> None:
    page = "\ufeff" + LATIN1_BODY.format(meta='<meta charset="iso-8859-1">')
    assert "Zürich" in parse_html(page.encode("utf-8"), where="bom.html").text


def test_undecodable_bytes_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match=r"^latin1\.html: not valid utf-8 at byte \d+"):
        parse_html(latin1_page(""), where="latin1.html")
    with pytest.raises(InvalidInput, match="not valid utf-8"):
        parse_html(latin1_page('<meta charset="utf-8">'), where="latin1.html")


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (b"", "the document is empty"),
        (b"  \n ", "the document is empty"),
        (b"<html><body></body></html>", "no main text found"),
        (b"<html><body><script>var x = 1;</script></body></html>", "no main text found"),
        (BOILERPLATE_ONLY, "no main text found"),
        (b"<html>\x00\x00\x00</html>", "looks binary"),
    ],
)
def test_pages_without_main_text_are_refused(page: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^empty.html: {message}"):
        parse_html(page, where="empty.html")


MARKDOWN = b"""---
title: front matter is metadata
---
# Budget *passes* after **long** debate

The parliament approved the [2024 budget](https://example.org/b "Budget (PDF)") on _Tuesday_,
with 210 votes to 150. ![chart](chart.png) The minister called it `historic`; see
<https://example.org/vote>. Names like snake_case_name and 2 * 3 stay, \\*as written\\*.

> "We delivered," she said.

- first point, ***stressed***
1. second point with a [reference link][1]

```python
print("code is dropped")
```

[1]: https://example.org/ref
## Second heading ##
Final paragraph with a [wiki link](https://en.wikipedia.org/wiki/Foo_(bar)) and ~~struck~~ text.
"""

MARKDOWN_TEXT = """Budget passes after long debate

The parliament approved the 2024 budget on Tuesday,
with 210 votes to 150. The minister called it historic; see
https://example.org/vote. Names like snake_case_name and 2 * 3 stay, *as written*.

"We delivered," she said.

- first point, stressed
1. second point with a reference link

Second heading

Final paragraph with a wiki link and struck text."""


def test_markdown_is_rendered_to_plain_text() -> None:
    doc = parse_markdown(MARKDOWN, where="notes.md")
    assert doc.text == MARKDOWN_TEXT
    assert (doc.title, doc.media_type, doc.data) == (
        "Budget passes after long debate",
        "text/markdown",
        MARKDOWN,
    )


def test_markdown_title_is_the_first_level_one_heading() -> None:
    doc = parse_markdown(b"## Section\n\nText.\n\n# Real title\n\n# Later title\n", where="m")
    assert doc.title == "Real title"
    assert parse_markdown(b"Just text, no heading.\n", where="m").title is None


def test_markdown_with_nothing_left_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"^m\.md: no text left after rendering the Markdown"):
        parse_markdown(b"![only](an-image.png)\n\n```\ncode\n```\n", where="m.md")
    with pytest.raises(InvalidInput, match=r"^m\.md: not valid UTF-8"):
        parse_markdown(b"caf\xe9", where="m.md")


def test_parse_bytes_dispatches_on_the_media_type() -> None:
    seed = parse_bytes(b" date 2024-03-20 Body text.", media_type="text/plain", where="s", uri="u")
    assert (seed.published, seed.text, seed.uri) == (dt.date(2024, 3, 20), "Body text.", "u")
    plain = parse_bytes(b"Just text.\n", media_type="text/plain; charset=utf-8", where="p")
    assert (plain.text, plain.media_type, plain.published) == ("Just text.", "text/plain", None)
    markdown = parse_bytes(b"# T\n\n*x*", media_type="Text/Markdown", where="m", uri="u")
    assert (markdown.text, markdown.title, markdown.uri) == ("T\n\nx", "T", "u")
    xhtml = parse_bytes(ARTICLE, media_type="application/xhtml+xml", where="x", uri="u")
    assert (xhtml.media_type, xhtml.uri, xhtml.title) == (
        "text/html",
        "u",
        "Minister says exports rose 12%",
    )


def test_parse_bytes_refuses_other_media_types() -> None:
    with pytest.raises(InvalidInput, match=r"^x\.pdf: media type application/pdf is not supported"):
        parse_bytes(b"%PDF-1.7", media_type="application/pdf", where="x.pdf")


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("a.html", "text/html"),
        ("a.HTM", "text/html"),
        ("a.md", "text/markdown"),
        ("a.markdown", "text/markdown"),
        ("a.txt", "text/plain"),
        ("a", "text/plain"),
        ("a.json", "text/plain"),
    ],
)
def test_media_type_for_path(name: str, media_type: str) -> None:
    assert media_type_for_path(Path(name)) == media_type
