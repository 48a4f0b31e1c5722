"""Text recognised from a page image, for PDF pages that have no text layer (scans).

RapidOCR (Apache-2.0; its ONNX models ship inside its wheel, so nothing is downloaded) was measured
against Tesseract 5 on this project's 2-core machines (docs/formats.md): on a court's scanned order
it read every line cleanly in 1.7 s a page where Tesseract took 7 s and added stray "|" from the
scan's edges; on clean print Tesseract found a few more words (95 % against 92 %). Speed and no
system package decided it. The engine is loaded once per process, on the first scanned page.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass

from index.pdfium_lock import PDFIUM

log = logging.getLogger(__name__)

SCALE = 300 / 72  # 300 dpi: at 200 the small print of a filing stamp came out garbled
# A page says how large it is, not its file: an 810-byte PDF can claim a 14400 pt square page, a
# 14.4 GB bitmap at 300 dpi. A larger page than a letter one is recognised at a lower resolution
# within MAX_PIXELS (a letter page at 300 dpi is 8.4 million); under MIN_SCALE (72 dpi, where
# print is no longer read) it is not recognised at all.
MAX_PIXELS = 12_000_000
MIN_SCALE = 1.0
_ENGINE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Line:
    """One recognised line: its text and its box as fractions of the page (left, top, right, bottom)."""

    text: str
    box: tuple[float, float, float, float]


class OcrUnavailable(RuntimeError):
    """No OCR engine could be loaded (rapidocr or onnxruntime missing or broken)."""


class PageTooLarge(ValueError):
    """The page is too large to recognise within the pixel budget (`MAX_PIXELS`)."""


@functools.cache
def _engine():
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise OcrUnavailable(f"no OCR engine installed ({exc.name} is missing: pip install rapidocr onnxruntime)") from None
    try:
        return RapidOCR(params={"Global.log_level": "error"})
    except Exception as exc:  # noqa: BLE001 - a broken install or model file: the page is reported, not lost
        raise OcrUnavailable(f"the OCR engine failed to start: {exc}") from None


def available() -> bool:
    try:
        _engine()
    except OcrUnavailable:
        return False
    return True


def recognise(page) -> list[Line]:
    """The lines of a pypdfium2 page's image, top to bottom. Raises OcrUnavailable or PageTooLarge."""
    import numpy as np

    with PDFIUM:
        width, height = page.get_size()
    scale = min(SCALE, (MAX_PIXELS / max(width * height, 1.0)) ** 0.5)
    if scale < MIN_SCALE:
        raise PageTooLarge(f"the page is {width:.0f} × {height:.0f} pt, too large to recognise")
    engine = _engine()
    with PDFIUM:
        image = page.render(scale=scale).to_pil().convert("RGB")
    width, height = image.size
    with _ENGINE_LOCK:  # one page at a time: two 12-megapixel pages at once would double the peak
        result = engine(np.asarray(image))
    if result.boxes is None or result.txts is None:
        return []
    lines = []
    for quad, text in zip(result.boxes, result.txts, strict=True):
        xs, ys = [float(x) for x, _ in quad], [float(y) for _, y in quad]
        if text.strip():
            lines.append(Line(" ".join(text.split()), (min(xs) / width, min(ys) / height,
                                                       max(xs) / width, max(ys) / height)))
    return lines
