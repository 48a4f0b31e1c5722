"""The one lock around every call into PDFium.

PDFium is not thread-safe: no two calls into it may run at once in a process, not even on
different documents (pypdfium2's documentation; ctypes lets go of the GIL during each call). The
chat reads uploads in several threads and draws page pictures while it does, so every pdfium call
runs under `PDFIUM`, taken per page, never over a whole document: OCR of a rendered page and the
encoding of a picture run outside it, and one user's long scan holds up another's reading by one
page at most.
"""

import threading

PDFIUM = threading.RLock()
