"""HTML to readable text with the standard library: the words a reader sees, one block a line.

Block elements (paragraphs, list items, headings, definition terms, table rows) each become one
line, whatever the source's own wrapping: whitespace inside them is a space, so a sentence runs on
across the source's line breaks. Table cells are kept apart (`cell | cell`), `<pre>` keeps its
lines. Script, style and navigation chrome (`<nav>`, headers and footers, and elements whose
class, id or role names navigation, a breadcrumb, a menu, a sidebar or a table of contents, as
generated manuals wrap their "Prev Up Next Home" links) are not content. Headings `h1`–`h6` give
the section path ("CREATE INDEX › Parameters"); the page's `<title>` leads the text when the body
does not already start with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from index.readers.base import Block, Heading
from index.readers.titles import usable

_SKIP = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "head",
         "button", "select", "textarea"}
_BLOCK = {
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot",
    "section", "article", "blockquote", "pre", "hr", "dd", "dt", "dl", "figcaption", "figure", "main", "caption",
    "address", "center", "details", "summary", "body", "tr",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
_CHROME = re.compile(r"(?i)^(nav|navbar|navheader|navfooter|navigation|breadcrumbs?|menu|menubar|sidebar|toc|"
                     r"skip-?link|site-?header|site-?footer|pagination|pager|cookie-?banner|headerlink)$")


@dataclass(frozen=True)
class HtmlText:
    text: str
    headings: tuple[Heading, ...]
    blocks: tuple[Block, ...]
    title: str | None = None  # the page's <title> (without the site's name), else its first h1


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str, int]] = []  # (kind, text, heading level or 0)
        self.words: list[str] = []
        self.skip: list[str] = []  # the open elements that hide their content
        self.pre = 0
        self.cells: list[str] | None = None  # the cells of the open table row
        self.heading = 0
        self.item = False
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        if tag in _VOID:
            if tag == "br" and not self.skip:
                self._break()
            return
        if self.skip:
            self.skip.append(tag)
            return
        if tag in _SKIP or _is_chrome(attrs):
            self.skip.append(tag)
            return
        if tag in ("td", "th"):
            self._cell_start()
        elif tag in _BLOCK:
            self._flush()
            if tag == "tr":
                self.cells = []
            elif tag == "pre":
                self.pre += 1
            elif tag in _HEADINGS:
                self.heading = _HEADINGS[tag]
            elif tag in ("li", "dt"):
                self.item = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in _VOID:
            return
        if self.skip:
            if tag in self.skip:
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if tag in ("td", "th"):
            self._cell_end()
        elif tag in _BLOCK:
            if tag == "tr":
                self._row_end()
            else:
                self._flush()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag in _HEADINGS:
                self.heading = 0

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self.skip:
            self.words.append(data)

    def _break(self) -> None:
        if self.pre:
            self.words.append("\n")
        elif self.cells is None:
            self._flush()
        else:
            self.words.append(" ")

    def _cell_start(self) -> None:
        if self.cells is None:  # a cell outside a row: a row of its own
            self._flush()
            self.cells = []
        self._cell_end()

    def _cell_end(self) -> None:
        if self.cells is not None:
            text = " ".join("".join(self.words).split())
            self.words = []
            if text:
                self.cells.append(text)

    def _row_end(self) -> None:
        self._cell_end()
        if self.cells:
            self.blocks.append(("row", " | ".join(self.cells), 0))
        self.cells = None

    def _flush(self) -> None:
        if self.cells is not None:
            self._cell_end()
            return
        raw = "".join(self.words)
        self.words = []
        if self.pre:
            lines = [line.rstrip() for line in raw.split("\n")]
            while lines and not lines[0].strip():
                lines.pop(0)
            while lines and not lines[-1].strip():
                lines.pop()
            if lines:
                self.blocks.append(("code", "\n".join(lines), 0))
            return
        text = " ".join(raw.split())
        if text:
            kind = "heading" if self.heading else "item" if self.item else "paragraph"
            self.blocks.append((kind, text, self.heading))
            self.item = False

    def close(self) -> None:
        super().close()
        if self.cells is not None:
            self._row_end()
        self._flush()


def _is_chrome(attrs) -> bool:
    for name, value in attrs:
        if name in ("class", "id") and value and any(_CHROME.match(token) for token in value.split()):
            return True
        if name == "role" and value in ("navigation", "banner", "contentinfo", "search"):
            return True
        if name == "aria-hidden" and value == "true":
            return True
    return False


def _without_site_name(title: str, found: list[tuple[str, str, int]]) -> str:
    """The page's own title when <title> is its first heading plus the site's name ("Embedding
    kobjects — The Linux Kernel documentation"): the site's name would head every section path."""
    first = next((text for kind, text, _ in found if kind == "heading"), "")
    rest = title[len(first):].lstrip() if first and title.startswith(first) else ""
    return first if rest[:1] in tuple("—–-|:·") and rest else title


def html_to_text(html: str, titled: bool = True) -> HtmlText:
    """`titled`: the page's `<title>` leads the text and heads its heading paths; off for a page
    that is a part of a larger document (an EPUB chapter, whose `<title>` is usually the book's)."""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    found = parser.blocks
    title = _without_site_name(" ".join(parser.title.split()), found) if titled else ""
    if title and not (found and found[0][1].startswith(title)):
        found = [("heading", title, 0), *found]
    parts: list[str] = []
    blocks: list[Block] = []
    headings: list[Heading] = []
    above: list[tuple[int, str]] = []  # (level, text) of the headings under the page's title
    at = 0
    for kind, text, level in found:
        if parts:
            parts.append("\n\n")
            at += 2
        if kind == "heading":
            above = [] if text == title else [*(h for h in above if h[0] < level), (level, text)]
            headings.append(Heading(at, " › ".join([*([title] if title else []), *(t for _, t in above)])))
        parts.append(text)
        blocks.append(Block(at, at + len(text), kind))
        at += len(text)
    first_h1 = next((text for kind, text, level in found if kind == "heading" and level == 1), "")
    return HtmlText("".join(parts) + ("\n" if parts else ""), tuple(headings), tuple(blocks),
                    usable(title) or usable(first_h1))
