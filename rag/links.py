"""Links back to web pages: a passage or quote from a mirrored page (index.web) gets the page's
URL with a text fragment (https://wicg.github.io/scroll-to-text-fragment/), so that a browser
opens the page scrolled to the quote, highlighted: `#:~:text=<start>` for a short quote,
`#:~:text=<first words>,<last words>` for a longer one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote

from rag.types import Answer, Hit

FRAGMENT_WORDS = 8  # a quote this short is given whole; a longer one by its first and last 4 words


def text_fragment(text: str) -> str:
    """`:~:text=...` for `text`, percent-encoded as the spec asks ("-", "&" and "," too)."""
    words = text.split()
    if not words:
        return ""
    if len(words) <= FRAGMENT_WORDS:
        return ":~:text=" + _encode(" ".join(words))
    half = FRAGMENT_WORDS // 2
    return f":~:text={_encode(' '.join(words[:half]))},{_encode(' '.join(words[-half:]))}"


def _encode(text: str) -> str:
    return quote(text, safe="").replace("-", "%2D")


def page_link(url: str, text: str) -> str:
    fragment = text_fragment(text)
    return f"{url.split('#', 1)[0]}#{fragment}" if fragment else url


def hit_with_url(hit: Hit, url_of: Callable[[str], str | None]) -> Hit:
    url = url_of(hit.source)
    if url is None:
        return hit
    best = hit.best_sentence
    return replace(hit, url=page_link(url, best.quote if best else hit.text))


def answer_with_urls(answer: Answer, url_of: Callable[[str], str | None]) -> Answer:
    citations = tuple(c if (url := url_of(c.source)) is None else replace(c, url=page_link(url, c.quote))
                      for c in answer.citations)
    passages = tuple(hit_with_url(h, url_of) for h in answer.passages)
    return replace(answer, citations=citations, passages=passages)
