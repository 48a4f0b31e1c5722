"""Small PDFs written by hand for the reader tests: real PDF syntax that pdfium parses (no PDF
library is needed to make them, and no third-party file is carried)."""

from __future__ import annotations


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


class Small(str):
    """A line set in 8 pt instead of 11 (a footnote's small print)."""


class Large(str):
    """A line set in 20 pt instead of 11 (a title)."""


class Scan(list):
    """A page's lines drawn as a picture only, with no text layer: a scanned page."""


def make_pdf(pages: list[list[str]], labels: list[str] | None = None, size: tuple[int, int] = (612, 792),
             title: str | None = None) -> bytes:
    """A PDF with one page per list of lines (Helvetica 11 pt, top to bottom); an empty list is a
    blank page; a `Small` line is set in 8 pt; a `Scan` is the same lines as an image (rendered by pdfium at 200 dpi), as a
    scanned page is. `labels` gives the pages' printed numbers (a /PageLabels tree); `size` the
    pages' MediaBox in points (the lines stay where they are on a letter page, from the top); a
    `Large` line is set in 20 pt; `title` goes in the document's information dictionary."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    streams: dict[int, bytes] = {}
    kids = []
    for lines in pages:
        if isinstance(lines, Scan):
            width, height, pixels = _picture(list(lines))
            objects.append(f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace "
                           f"/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length {len(pixels)} >>")
            streams[len(objects)] = pixels
            body = f"q {size[0]} 0 0 {size[1]} 0 0 cm /Im{len(objects)} Do Q\n"
            resources = f"/XObject << /Im{len(objects)} {len(objects)} 0 R >>"
        else:
            body = "".join(f"BT /F1 {_size(line)} Tf 72 {size[1] - 52 - 14 * i} Td ({_escape(line)}) Tj ET\n"
                           for i, line in enumerate(lines))
            resources = "/Font << /F1 3 0 R >>"
        objects.append(f"<< /Length {len(body.encode('latin-1'))} >>\nstream\n{body}endstream")
        content = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {size[0]} {size[1]}] /Contents {content} 0 R "
                       f"/Resources << {resources} >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    if labels:
        nums = " ".join(f"{n} << /P ({_escape(label)}) >>" for n, label in enumerate(labels))
        objects[0] = f"<< /Type /Catalog /Pages 2 0 R /PageLabels << /Nums [{nums}] >> >>"
    info = ""
    if title is not None:
        objects.append(f"<< /Title ({_escape(title)}) /Producer (tests) >>")
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\n".encode("latin-1")
        if number in streams:
            out += b"stream\n" + streams[number] + b"\nendstream\n"
        out += b"endobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _size(line: str) -> int:
    return 8 if isinstance(line, Small) else 20 if isinstance(line, Large) else 11


def _picture(lines: list[str]) -> tuple[int, int, bytes]:
    """The lines as a text PDF page rendered to grey pixels: (width, height, deflated bytes)."""
    import zlib

    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(make_pdf([lines]))
    try:
        image = document[0].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    return image.width, image.height, zlib.compress(image.tobytes())


def two_columns(title: str, left: list[str], right: list[str]) -> bytes:
    """A one-page PDF in two columns (8 pt) under a full-width title, drawn row by row across both
    columns (left line 1, right line 1, ...), as some generators draw them."""
    body = f"BT /F1 12 Tf 72 750 Td ({_escape(title)}) Tj ET\n"
    for n, (a, b) in enumerate(zip(left, right, strict=True)):
        body += f"BT /F1 8 Tf 50 {720 - 12 * n} Td ({_escape(a)}) Tj ET\n"
        body += f"BT /F1 8 Tf 320 {720 - 12 * n} Td ({_escape(b)}) Tj ET\n"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               f"<< /Length {len(body.encode('latin-1'))} >>\nstream\n{body}endstream",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, text in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{text}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypted(pdf: bytes) -> bytes:
    """`pdf` behind a user password (the standard security handler, RC4 40-bit): its O and U
    entries match no password, as a file locked with one the reader does not know."""
    lock = ("/Encrypt << /Filter /Standard /V 1 /R 2 /O <" + "41" * 32 + "> /U <" + "42" * 32 + "> /P -4 >> "
            "/ID [<0123456789ABCDEF0123456789ABCDEF><0123456789ABCDEF0123456789ABCDEF>]")
    return pdf.replace(b"/Root 1 0 R >>", f"/Root 1 0 R {lock} >>".encode())
