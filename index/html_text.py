"""HTML to readable text with the standard library: the words a reader sees, no markup.

Script, style and navigation chrome are dropped; block elements become line breaks so the
cleaner and the sentence splitter see the page's structure.
"""

from __future__ import annotations

from html.parser import HTMLParser

_SKIP = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "head"}
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "blockquote", "pre", "hr", "dd", "dt", "figcaption", "main",
}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        if tag in _SKIP and tag not in _VOID:
            self.skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag in {"p", "h1", "h2", "h3", "h4", "h5", "h6"} else "\n")
            if tag == "li":
                self.parts.append("• ")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in _SKIP and tag not in _VOID:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self.skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    title = " ".join(parser.title.split())
    body = text.strip()
    if title and not body.startswith(title):
        body = f"{title}\n\n{body}"
    return body
