"""Turning HTML, Markdown and plain-text bytes into a ``SourceDocument``.

The format-specific step before ``normalize_text`` (docs/formats/sources.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from ledger.errors import InvalidInput
from ledger.sources import (
    MAX_SOURCE_BYTES,
    SourceDocument,
    decode_text,
    is_seed,
    normalize_text,
    parse_plain,
    parse_seed,
    read_local_bytes,
)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MARKDOWN_TYPE = "text/markdown"
PLAIN_TYPE = "text/plain"
SUPPORTED_TYPES = HTML_TYPES | {MARKDOWN_TYPE, PLAIN_TYPE}

_SUFFIX_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".md": MARKDOWN_TYPE,
    ".markdown": MARKDOWN_TYPE,
}

# The charset may be declared a little after the HTML spec's 1024-byte prescan window on
# real pages (long <head> comments, inline scripts); a wider window costs nothing.
_CHARSET_WINDOW = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.I)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_PARAM_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.I)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# Browsers read these labels as windows-1252 (WHATWG Encoding), and pages that declare
# them routinely contain cp1252 punctuation such as curly quotes in 0x80-0x9F.
_LATIN1_NAMES = frozenset(
    {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii"}
)
_SPACES = re.compile(r"[^\S\n]+")
_BLOCK_TAGS = frozenset({"p", "head", "list", "table", "quote", "code", "div", "ab", "note"})


def read_file(path: Path) -> SourceDocument:
    """Read a local regular file as its suffix says (seed-format text is recognised by its
    header); FIFOs, devices and /proc, /sys, /dev are refused (``read_local_bytes``).

    For the command line only: the API never reads a file a client names."""
    data = read_local_bytes(path)
    return parse_bytes(data, media_type=media_type_for_path(path), where=str(path))


def media_type_for_path(path: Path) -> str:
    """The media type a local file is read as, by its suffix (anything else is plain text)."""
    return _SUFFIX_TYPES.get(path.suffix.lower(), PLAIN_TYPE)


def parse_bytes(
    data: bytes, *, media_type: str, where: str, uri: str | None = None
) -> SourceDocument:
    """Dispatch on ``media_type`` (parameters such as ``charset`` are allowed)."""
    essence = media_type.split(";", 1)[0].strip().lower()
    if essence in HTML_TYPES:
        charset = _charset_param(media_type)
        document = parse_html(data, where=where, uri=uri, charset=charset)
        if charset is None:
            return document
        # Kept in the media type: the bytes re-read as it says give the same text.
        return dataclasses.replace(document, media_type=f"text/html; charset={charset}")
    if essence == MARKDOWN_TYPE:
        return dataclasses.replace(parse_markdown(data, where=where), uri=uri)
    if essence == PLAIN_TYPE:
        if is_seed(data):
            return dataclasses.replace(parse_seed(data, where=where), uri=uri)
        document = parse_plain(data, where=where)  # uri None: the same document, no copy
        return document if uri is None else dataclasses.replace(document, uri=uri)
    raise InvalidInput(f"{where}: media type {essence or '(none)'} is not supported")


def _charset_param(media_type: str) -> str | None:
    match = _PARAM_CHARSET.search(media_type)
    return match.group(1) if match else None


# --- HTML -----------------------------------------------------------------------------


def parse_html(
    data: bytes, *, where: str, uri: str | None = None, charset: str | None = None
) -> SourceDocument:
    """Main text of an HTML page, without its boilerplate, as paragraphs.

    ``charset`` is the one an HTTP ``Content-Type`` named; a byte-order mark wins over
    it and it wins over the page's own ``<meta>`` declaration, as in browsers.
    """
    html = _XML_DECLARATION.sub("", decode_html(data, where=where, charset=charset), count=1)
    # Imported here: trafilatura and lxml weigh ~20 MB, and most commands never parse HTML.
    import trafilatura
    from trafilatura.settings import Document

    extracted = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        # Precision mode skips the last-resort "baseline" (every text node of the page) and
        # fast mode the readability/jusText fallbacks: on a page without an article they
        # would hand back the menu, the ads and the footer as its "main text".
        favor_precision=True,
        fast=True,
        include_comments=False,  # readers' comments are not the article
        include_images=False,
        include_tables=True,
        # No extensive search: it turns a copyright line into a "YYYY-01-01" date. Without
        # it htmldate reads markup (meta, JSON-LD, <time>) and, failing that, the first
        # full date written in the page.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if not isinstance(extracted, Document):  # None: trafilatura found nothing to keep
        raise InvalidInput(f"{where}: no main text found")
    text = normalize_text("\n\n".join(_blocks(extracted.body)))
    if not text:
        raise InvalidInput(f"{where}: no main text found")
    return SourceDocument(
        data=data,
        text=text,
        media_type="text/html",
        uri=uri,
        title=_clean(extracted.title),
        publisher=_clean(extracted.sitename),
        # Only ``date``: ``filedate`` is trafilatura's stand-in (today), never the page's.
        published=_day_or_none(extracted.date),
    )


def decode_html(data: bytes, *, where: str, charset: str | None = None) -> str:
    """Decode with the BOM's, the given, or the declared charset, else strict UTF-8."""
    if not data.strip():
        raise InvalidInput(f"{where}: the document is empty")
    if len(data) > MAX_SOURCE_BYTES:
        raise InvalidInput(f"{where}: {len(data)} bytes is over the {MAX_SOURCE_BYTES}-byte limit")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], encoding, where=where)
    return _decode(data, charset or _declared_charset(data) or "utf-8", where=where)


def _declared_charset(data: bytes) -> str | None:
    head = data[:_CHARSET_WINDOW]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _decode(data: bytes, label: str, *, where: str) -> str:
    label = label.strip().lower()
    try:
        if label in _LATIN1_NAMES:
            return _decode_latin1(data)
        text = data.decode(label)
    except LookupError:
        # An unknown label means the default, as in browsers; strict UTF-8 still refuses junk.
        return _decode(data, "utf-8", where=where)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{where}: not valid {label} at byte {exc.start}") from exc
    if "\x00" in text:
        raise InvalidInput(f"{where}: looks binary (contains NUL bytes), not a text document")
    return text


def _decode_latin1(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; true ISO-8859-1 maps every byte.
        return data.decode("latin-1")


class _Node(Protocol):
    """The part of an lxml element the text walk uses (trafilatura's output tree)."""

    tag: object
    text: str | None
    tail: str | None

    def __iter__(self) -> Iterator[_Node]: ...


def _blocks(node: _Node) -> Iterator[str]:
    """Paragraph-level strings of trafilatura's tree: paragraphs, headings, lists, tables."""
    loose = [_flat(node.text)]
    for child in node:
        if child.tag in _BLOCK_TAGS:
            yield from _nonempty(_inline_text(loose))
            loose = []
            yield from _block(child)
        else:
            loose.extend(_pieces(child))
        loose.append(_flat(child.tail))
    yield from _nonempty(_inline_text(loose))


def _block(node: _Node) -> Iterator[str]:
    if node.tag == "list":
        yield "\n".join(_list_lines(node))
    elif node.tag == "table":
        rows = (" | ".join(_inline_text(_pieces(cell)) for cell in row) for row in node)
        yield "\n".join(row for row in rows if row.strip(" |"))
    elif any(child.tag in _BLOCK_TAGS for child in node):
        yield from _blocks(node)
    elif node.tag == "code":  # kept as laid out; normalize_text trims the line ends
        yield from _nonempty("".join(_pieces(node, keep_newlines=True)).strip("\n"))
    else:
        yield from _nonempty(_inline_text(_pieces(node)))


def _list_lines(node: _Node) -> Iterator[str]:
    """One line per item; a nested list's items follow their parent item's line."""
    for item in node:
        own = [_flat(item.text)]
        nested: list[str] = []
        for child in item:
            if child.tag == "list":
                nested.extend(_list_lines(child))
            else:
                own.extend(_pieces(child))
            own.append(_flat(child.tail))
        yield from _nonempty(_inline_text(own))
        yield from nested


def _pieces(node: _Node, *, keep_newlines: bool = False) -> Iterator[str]:
    """Text of an element and its descendants, not its tail; only ``<lb/>`` gives a newline."""
    if node.tag == "lb":
        yield "\n"
    elif node.tag != "graphic":
        yield _flat(node.text, keep_newlines=keep_newlines)
        for child in node:
            yield from _pieces(child, keep_newlines=keep_newlines)
            yield _flat(child.tail, keep_newlines=keep_newlines)


def _flat(text: str | None, *, keep_newlines: bool = False) -> str:
    """Line breaks in the HTML source are white space, like any other."""
    return (text or "") if keep_newlines else (text or "").replace("\n", " ")


def _inline_text(pieces: Iterable[str]) -> str:
    """Joined pieces with white space runs collapsed and blank lines dropped."""
    lines = _SPACES.sub(" ", "".join(pieces)).split("\n")
    return "\n".join(line.strip() for line in lines if line.strip())


def _nonempty(text: str) -> Iterator[str]:
    if text.strip():
        yield text


def _clean(value: str | None) -> str | None:
    value = _SPACES.sub(" ", value or "").strip()
    return value or None


def _day_or_none(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


# --- Markdown -------------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}(?:(?:[-*_][ \t]*){3,}|=+[ \t]*)$")
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S+")
_QUOTE_MARKERS = re.compile(r"^(?: {0,3}> ?)+")
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPED = re.compile("[\ue021-\ue07e]")
_DESTINATION = (
    r"\((?:<[^>]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_INLINE_RULES = (
    (re.compile(r"!\[[^\]]*\](?:" + _DESTINATION + r"|\[[^\]]*\])[ \t]*"), ""),  # images dropped
    (re.compile(r"\[([^\]]*)\](?:" + _DESTINATION + r"|\[[^\]]*\])"), r"\1"),  # links → text
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    # Strong before emphasis, so that ***both*** loses all six markers.
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"), r"\1"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
)


def parse_markdown(data: bytes, *, where: str) -> SourceDocument:
    """Markdown rendered to plain text by a few line rules; no Markdown library.

    Heading markers, emphasis, code-span backticks, link targets and quote markers go;
    images, fenced code blocks, rules and reference definitions are dropped; list
    markers stay. The title is the first ``# `` heading.
    """
    title: str | None = None
    lines: list[str] = []
    for line in _prose_lines(decode_text(data, where=where).splitlines()):
        heading = _ATX.match(line)
        if heading is None:
            lines.append(_render_inline(_QUOTE_MARKERS.sub("", line)))
            continue
        text = _render_inline(heading.group(2) or "")
        if title is None and len(heading.group(1)) == 1 and text.strip():
            title = text.strip()
        lines.extend(("", text, ""))  # a heading is a short line of its own
    text = normalize_text("\n".join(lines))
    if not text:
        raise InvalidInput(f"{where}: no text left after rendering the Markdown")
    return SourceDocument(data=data, text=text, media_type=MARKDOWN_TYPE, title=title)


def _prose_lines(lines: list[str]) -> Iterator[str]:
    """Lines outside front matter, fenced code, rules and reference definitions."""
    fence: str | None = None
    for line in _without_front_matter(lines):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
        elif not (_RULE.match(line) or _REFERENCE_DEF.match(line)):
            yield line


def _without_front_matter(lines: list[str]) -> list[str]:
    """A leading ``---`` … ``---`` YAML block is metadata, not article text."""
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                return lines[end + 1 :]
    return lines


def _render_inline(line: str) -> str:
    """Code spans keep their content verbatim; other text loses its inline markup."""
    out: list[str] = []
    position = 0
    for span in _CODE_SPAN.finditer(line):
        out.extend((_strip_markup(line[position : span.start()]), _code_content(span.group(2))))
        position = span.end()
    out.append(_strip_markup(line[position:]))
    return "".join(out)


def _code_content(code: str) -> str:
    both_padded = code.startswith(" ") and code.endswith(" ") and code.strip()
    return code[1:-1] if both_padded else code


def _strip_markup(text: str) -> str:
    # Escaped punctuation is parked in the private-use area so no rule treats it as markup
    # (a source already using U+E021-U+E07E would see those turned into ASCII punctuation).
    text = _ESCAPE.sub(lambda m: chr(0xE000 + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return _ESCAPED.sub(lambda m: chr(ord(m.group(0)) - 0xE000), text)
