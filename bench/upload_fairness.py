"""Hostile and long uploads against the real chat window: refused or bounded, and never in the way
of another browser's small upload.

    .venv/bin/python bench/upload_fairness.py [--scan-pages 300]

Indexes seeds/ into a temporary folder, starts `rag chat` in its own process on a free port, and
from two browser sessions (gradio_client, each with its own cookie):

1. browser A uploads a 60,000-page scan PDF (one 200 × 200 picture on every page, under the 10 MB
   upload limit): seconds until it is refused;
2. browser A uploads a `--scan-pages` scan PDF (every page one picture of printed lines, so every
   page goes through OCR, up to RAG_MAX_OCR_PAGES); once its OCR runs, browser B uploads a small
   .txt: seconds until B's upload is indexed and until B's question about it is answered from it;
3. browser A cancels its upload: seconds until the upload has stopped and says so.

Floors (issue 23): (1) <= 5 s; (2) B searchable <= 10 s; nothing of A's cancelled upload indexed.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ui_load import start_server  # noqa: E402

SMALL = ("The Quillmere ferry timetable for 1927 lists one crossing a day, leaving the harbour at "
         "nine in the morning, run by the skipper Morwenna Quayle.\n")
QUESTION = "Who ran the Quillmere ferry in 1927?"


def picture(lines: list[str], size: tuple[int, int]) -> bytes:
    """A grey-scale picture of `lines` in black on white, deflated: what a scanner stores."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(10, size[1] // 40))
    for n, line in enumerate(lines):
        draw.text((size[0] // 12, size[1] // 12 + n * size[1] // 25), line, fill=0, font=font)
    return zlib.compress(image.tobytes(), 9)


def scan_pdf(pages: int, lines: list[str], size: tuple[int, int]) -> bytes:
    """`pages` letter pages each showing the same picture (one image object, drawn on every page)."""
    pixels = picture(lines, size)
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               f"<< /Type /XObject /Subtype /Image /Width {size[0]} /Height {size[1]} /ColorSpace /DeviceGray "
               f"/BitsPerComponent 8 /Filter /FlateDecode /Length {len(pixels)} >>",
               "<< /Length 30 >>\nstream\nq 612 0 0 792 0 0 cm /Im0 Do Q\nendstream"]
    page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /Im0 3 0 R >> >> >>"
    objects.extend([page] * pages)
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{n} 0 R' for n in range(5, 5 + pages))}] /Count {pages} >>"
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\n".encode())
        if number == 3:
            out.write(b"stream\n" + pixels + b"\nendstream\n")
        out.write(b"endobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{o:010d} 00000 n \n" for o in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scan-pages", type=int, default=300)
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server, url = start_server(tmp / "data")
        try:
            a, b = Client(url, verbose=False), Client(url, verbose=False)
            flood = tmp / "flood.pdf"
            flood.write_bytes(scan_pdf(60_000, ["x"], (200, 200)))
            started = time.perf_counter()
            try:
                a.predict([handle_file(str(flood))], api_name="/upload")
                refusal = "accepted (!)"
            except Exception as exc:  # noqa: BLE001 - gradio_client's AppError carries the window's message
                refusal = str(exc).splitlines()[-1][:120]
            refused_s = time.perf_counter() - started
            print(f"60,000-page scan PDF ({flood.stat().st_size / 1e6:.1f} MB): {refused_s:.2f} s → {refusal}")

            scan = tmp / "long scan.pdf"
            scan.write_bytes(scan_pdf(args.scan_pages, [f"Harbour log, line {n}: the tide came in at six." for n in range(12)],
                                      (1275, 1650)))
            job = a.submit([handle_file(str(scan))], api_name="/upload")
            time.sleep(8)  # its check is reading it by OCR by now
            note = tmp / "ferry note.txt"
            note.write_text(SMALL, encoding="utf-8")
            started = time.perf_counter()
            message, *_ = b.predict([handle_file(str(note))], api_name="/upload")
            indexed_s = time.perf_counter() - started
            _chat, _citations, _passages, answer, *_ = b.predict(QUESTION, api_name="/ask")
            answered_s = time.perf_counter() - started
            cited = '"source": "ferry note.txt"' in answer
            print(f"browser B's small upload during A's {args.scan_pages}-page OCR: indexed in {indexed_s:.2f} s, "
                  f"answered from it ({cited}) in {answered_s:.2f} s; A still running: {not job.done()}")
            print(f"  B's upload said: {message.splitlines()[0][:100]}")

            started = time.perf_counter()
            said = a.predict(api_name="/cancel_uploads")
            outcome = job.result(timeout=600)[0]
            print(f"A cancels: {said!r}; stopped in {time.perf_counter() - started:.2f} s → {outcome!r}")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
