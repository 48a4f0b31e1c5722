"""A PDF page as a picture with a quote highlighted on it, so a reader checks a citation against
the page itself, not only against our text.

The highlight is placed from the page's own text layer: the quote's letters and digits are aligned
with the page's (`difflib`, which tolerates what reading changed: a ligature spelt out, a hyphen
dropped, a running head cut) and pdfium gives the boxes of the matched characters. On a page read
by OCR, the recognised lines that hold the quote are marked instead (their boxes are kept in the
document's layout). Rotated pages are drawn upright by pdfium; the boxes follow only unrotated
pages, which is what the text layer's coordinates describe.
"""

from __future__ import annotations

import difflib
import io

from index.pdfium_lock import PDFIUM
from index.readers.base import Page

SCALE = 1.5  # 108 dpi: a letter page 918 × 1188 pixels, small print still legible
# A page says how big it is (its MediaBox), not its file: a 2.6 KB PDF can claim 14400 × 14400 pt,
# 8 GB of pixels at SCALE. Larger pages are drawn smaller, within MAX_PIXELS and MAX_SIDE (WebP's
# limit is 16383); one that would need less than MIN_SCALE (18 dpi, nothing legible) is not drawn.
MAX_PIXELS = 4_000_000
MAX_SIDE = 8000
MIN_SCALE = 0.25
# Lossless WebP: a court page in 54 kB against 240 kB as PNG, and no colours merged away (a
# reduced palette lost a short highlight); every browser the chat supports shows it.
MEDIA_TYPE = "image/webp"
_MARK = (255, 214, 0, 110)  # translucent yellow
_OUTLINE = (214, 150, 0, 255)


def scale_for(width: float, height: float) -> float | None:
    """The scale a `width` × `height` pt page is drawn at (`SCALE`, less for a large page), or None
    when it is too large to show."""
    if width <= 0 or height <= 0:
        return None
    scale = min(SCALE, (MAX_PIXELS / (width * height)) ** 0.5, MAX_SIDE / max(width, height))
    return scale if scale >= MIN_SCALE else None


def render_page(pdf: bytes, page: Page, start: int, end: int, text: str, around: bool = False) -> bytes | None:
    """Page `page` of the PDF as a picture (`MEDIA_TYPE`), with characters `start`–`end` of the
    document's text (`text`, what citations point into) highlighted where they fall on this page;
    None for a page too large to show (`scale_for`). `around`: only the part of the page around
    the highlight (legible in a narrow panel)."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    with PDFIUM:  # drawing the highlight and encoding the picture, below, need it no longer
        document = pdfium.PdfDocument(pdf)
        try:
            handle = document[page.number - 1]
            try:
                width, height = handle.get_size()
                scale = scale_for(width, height)
                if scale is None:
                    return None
                image = handle.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
                a, b = max(start, page.start), min(end, page.end)
                if page.ocr:
                    boxes = [(left * width, top * height, right * width, bottom * height)
                             for s, e, left, top, right, bottom in page.boxes if s < b and a < e]
                else:
                    boxes = _text_boxes(handle, text[a:b], height) if a < b else []
            finally:
                handle.close()
        finally:
            document.close()
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for left, top, right, bottom in boxes:
        draw.rectangle([left * scale - 2, top * scale - 2, right * scale + 2, bottom * scale + 2],
                       fill=_MARK, outline=_OUTLINE, width=2)
    image = Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")
    if around and boxes:
        image = image.crop(_around(boxes, width, height, scale))
    out = io.BytesIO()
    image.save(out, format="WEBP", lossless=True)
    return out.getvalue()


def _around(boxes, width: float, height: float, scale: float) -> tuple[int, int, int, int]:
    """The pixels of the page around the highlighted boxes: a margin of text above and below, and
    at least half the page's width, so the quote is read with its neighbours."""
    left, top = min(b[0] for b in boxes) - 36, min(b[1] for b in boxes) - 90
    right, bottom = max(b[2] for b in boxes) + 36, max(b[3] for b in boxes) + 90
    if right - left < width / 2:
        middle = (left + right) / 2
        left, right = middle - width / 4, middle + width / 4
    return (round(max(0, left) * scale), round(max(0, top) * scale),
            round(min(width, right) * scale), round(min(height, bottom) * scale))


def _text_boxes(handle, quote: str, height: float) -> list[tuple[float, float, float, float]]:
    """Boxes (left, top, right, bottom, in points from the page's top left) of the characters of
    the page's text layer that spell `quote`."""
    textpage = handle.get_textpage()
    try:
        raw = textpage.get_text_range()
        if len(raw) != textpage.count_chars():
            return []
        span = _aligned(raw, quote)
        if span is None:
            return []
        first, last = span
        boxes = []
        for n in range(textpage.count_rects(first, last - first)):
            left, bottom, right, top = textpage.get_rect(n)
            boxes.append((left, height - top, right, height - bottom))
        return boxes
    finally:
        textpage.close()


def _aligned(raw: str, quote: str) -> tuple[int, int] | None:
    """The characters of `raw` (a page's text layer) that spell `quote`, as [first, last): its
    letters and digits matched in order, allowing small differences; None when less than 70 % of
    the quote is found there."""
    keys = [(n, ch.lower()) for n, ch in enumerate(raw) if ch.isalnum()]
    wanted = [ch.lower() for ch in quote if ch.isalnum()]
    if not keys or not wanted:
        return None
    matcher = difflib.SequenceMatcher(None, [k for _, k in keys], wanted, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return None
    # keep the blocks that chain around the longest one: the quote's place, not stray letters
    main = max(blocks, key=lambda b: b.size)
    chained = [b for b in blocks if abs(b.a - main.a - (b.b - main.b)) <= 12]
    if sum(b.size for b in chained) < 0.7 * len(wanted):
        return None
    first = min(b.a for b in chained)
    last = max(b.a + b.size for b in chained) - 1
    return keys[first][0], keys[last][0] + 1

