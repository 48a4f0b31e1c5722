"""PDF reading benchmark: text-layer extraction speed, OCR cost per scanned page, and indexing time
of the text-layer PDFs against the bare embedding of the same texts.

    .venv/bin/python bench/pdf_bench.py [FOLDER] [--repeat N] [--batch-size N]

FOLDER defaults to ../shared/data/pdfs beside the checkout (the project's real-world PDF corpus).

1. Extraction: every PDF read with `ReadOptions(ocr=False)` (best of --repeat); pages/s over the
   text pages (pages that are not scans). A file whose every page is a scan raises
   `readers.NeedsOcr` and is counted apart; the scanned pages of other files are counted apart
   too (their time is scan detection, not text extraction).
2. OCR: each file with scanned pages read again with OCR on; seconds per recognised page (the
   file's OCR-off read time taken off; the engine's one-off load is shown apart).
3. Indexing: the PDFs with no scanned page are copied to a temporary folder and indexed in this
   process (`Assistant.index`, model already loaded, as the seconds `rag index` reports), then the
   same texts are embedded bare with the index's own embedder: the chunk texts alone, and
   everything indexing embeds (chunks and their sentences, `index.pipeline._texts_of`), alternated
   --rounds times, best of each kept. Each ratio is indexing time over bare embedding time; the
   floor is <= 1.2x when no page needs OCR. The ONNX export a first index makes (the query model)
   is timed apart too, as it is part of the indexing time.

Speeds on these shared machines are noisy: compare the ratios, which are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT.parent / "shared" / "data" / "pdfs"
SCANNED = "no OCR asked"


def _best(seconds: list[float]) -> float:
    return min(seconds)


def extraction(pdfs: list[Path], repeat: int) -> tuple[dict, list[dict]]:
    """Per file: pages, text pages, scanned pages and best read time with OCR off."""
    import pypdfium2 as pdfium

    from index import readers
    from index.readers import ReadOptions

    rows = []
    for path in pdfs:
        data = path.read_bytes()
        document = pdfium.PdfDocument(data)
        total = len(document)
        document.close()
        times, reading, needs_ocr = [], None, False
        for _ in range(repeat):
            started = time.perf_counter()
            try:
                reading = readers.read(path.name, data, ReadOptions(ocr=False))
            except readers.NeedsOcr:
                needs_ocr = True
            times.append(time.perf_counter() - started)
        scanned = total if needs_ocr else sum(SCANNED in note for note in reading.notes)
        blank = 0 if needs_ocr else sum("blank" in note for note in reading.notes)
        rows.append({"file": path.name, "pages": total, "text_pages": total - scanned - blank,
                     "scanned_pages": scanned, "blank_pages": blank, "all_scan": needs_ocr,
                     "read_s": round(_best(times), 4)})
    text_rows = [r for r in rows if not r["scanned_pages"]]
    mixed = [r for r in rows if r["scanned_pages"] and r["text_pages"]]
    text_pages = sum(r["text_pages"] for r in text_rows + mixed)
    text_seconds = sum(r["read_s"] for r in text_rows + mixed)
    summary = {
        "files": len(rows), "pages": sum(r["pages"] for r in rows), "text_pages": text_pages,
        "text_read_s": round(text_seconds, 3),
        "text_pages_per_s": round(text_pages / text_seconds, 1) if text_seconds else None,
        "all_scan_files (NeedsOcr)": sum(r["all_scan"] for r in rows),
        "files_with_scanned_pages": sum(bool(r["scanned_pages"]) for r in rows),
        "scanned_pages": sum(r["scanned_pages"] for r in rows),
    }
    return summary, rows


def ocr_cost(pdfs: list[Path], rows: list[dict]) -> dict:
    """Seconds per page for the scanned pages, read with OCR on."""
    from index import ocr, readers
    from index.readers import ReadOptions

    scanned = [(path, row) for path, row in zip(pdfs, rows, strict=True) if row["scanned_pages"]]
    if not scanned:
        return {"ocr_pages": 0}
    started = time.perf_counter()
    if not ocr.available():
        return {"ocr_pages": 0, "ocr": "no OCR engine installed"}
    load = time.perf_counter() - started
    pages, seconds, per_file = 0, 0.0, {}
    for path, row in scanned:
        data = path.read_bytes()
        started = time.perf_counter()
        reading = readers.read(path.name, data, ReadOptions(ocr=True))
        spent = time.perf_counter() - started - (0.0 if row["all_scan"] else row["read_s"])
        recognised = sum(page.ocr for page in reading.pages)
        pages += recognised
        seconds += spent
        per_file[path.name] = {"ocr_pages": recognised, "s_per_page": round(spent / max(recognised, 1), 2)}
    return {"ocr_engine_load_s": round(load, 2), "ocr_pages": pages, "ocr_s": round(seconds, 2),
            "ocr_s_per_page": round(seconds / pages, 2) if pages else None, "per_file": per_file}


def indexing(pdfs: list[Path], rows: list[dict], batch_size: int | None, rounds: int) -> dict:
    """Indexing of the text-layer PDFs in this process against the bare embedding of its texts,
    alternated `rounds` times (a fresh index each time), each one's best kept."""
    from index.embedders.transformer import export_onnx
    from index.manifest import Manifest
    from index.pipeline import _texts_of
    from rag.assistant import Assistant
    from rag.config import RagConfig

    chosen = [path for path, row in zip(pdfs, rows, strict=True) if not row["scanned_pages"] and row["text_pages"]]
    work = Path(tempfile.mkdtemp(prefix="pdf-bench-"))
    index_s, index_wall, bare_chunks, bare_all = [], [], [], []
    try:
        folder = work / "pdfs"
        folder.mkdir()
        for path in chosen:  # a copy: the indexer does not follow symlinks out of the folder
            shutil.copyfile(path, folder / path.name)
        config = RagConfig.from_env({}, data_dir=work / "data", embed_batch_size=batch_size)
        embedder = Assistant(config).parts.embedder
        started = time.perf_counter()
        embedder.embed(["warm up the model", "outside every timing"])  # loads the model, shared by the indexer
        load = time.perf_counter() - started
        for round_ in range(rounds):
            round_config = config.replace(data_dir=work / f"data{round_}")
            started = time.perf_counter()
            report = Assistant(round_config).index([folder])
            index_wall.append(time.perf_counter() - started)
            index_s.append(report.seconds)
            if not report.ok or len(report.added) != len(chosen):
                raise SystemExit(f"indexing failed: {report}")
            manifest = Manifest(round_config.data_dir / "manifest.sqlite", readonly=True)
            try:
                ids, chunk_texts, _ = manifest.all_chunks()
                chunks = list(manifest.chunks_by_id(ids).values())
            finally:
                manifest.close()
            all_texts = _texts_of(chunks)
            started = time.perf_counter()
            embedder.embed(chunk_texts)
            bare_chunks.append(time.perf_counter() - started)
            started = time.perf_counter()
            embedder.embed(all_texts)
            bare_all.append(time.perf_counter() - started)
            print(f"  round {round_ + 1}: index {index_s[-1]:.1f} s, bare chunks {bare_chunks[-1]:.1f} s, "
                  f"bare all texts {bare_all[-1]:.1f} s", flush=True)
        started = time.perf_counter()
        export_onnx(embedder, work / "onnx")  # part of a first index's time: the query model
        onnx = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = min(index_s)
    return {
        "files": len(chosen), "pages": sum(r["text_pages"] for p, r in zip(pdfs, rows, strict=True) if p in chosen),
        "chunks": len(chunk_texts), "texts_embedded_by_index": len(all_texts),
        "batch_size": config.embed_batch_size, "rounds": rounds, "model_load_s": round(load, 2),
        "index_s": round(best, 2), "index_wall_s": round(min(index_wall), 2),
        "onnx_export_s (inside index_s)": round(onnx, 2),
        "bare_embed_chunks_s": round(min(bare_chunks), 2), "bare_embed_all_texts_s": round(min(bare_all), 2),
        "ratio_index_vs_chunks": round(best / min(bare_chunks), 3),
        "ratio_index_vs_all_texts": round(best / min(bare_all), 3),
        "ratio_index_less_onnx_vs_all_texts": round((best - onnx) / min(bare_all), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER, help="a folder of PDFs")
    parser.add_argument("--repeat", type=int, default=3, help="text-layer reads per file (best kept)")
    parser.add_argument("--batch-size", type=int, help="embedding batch (default: the index's, RAG_EMBED_BATCH_SIZE)")
    parser.add_argument("--rounds", type=int, default=2, help="index / bare-embedding rounds (best of each kept)")
    parser.add_argument("--skip-ocr", action="store_true")
    parser.add_argument("--skip-index", action="store_true")
    args = parser.parse_args(argv)
    pdfs = sorted(p for p in args.folder.iterdir() if p.suffix.lower() == ".pdf") if args.folder.is_dir() else []
    if not pdfs:
        print(f"no PDFs in {args.folder}", file=sys.stderr)
        return 2
    print(f"[extraction] {len(pdfs)} PDFs in {args.folder}, OCR off, best of {args.repeat} ...", flush=True)
    summary, rows = extraction(pdfs, args.repeat)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    print(json.dumps({"extraction": summary}), flush=True)
    if not args.skip_ocr:
        print("[ocr] scanned pages, OCR on ...", flush=True)
        print(json.dumps({"ocr": ocr_cost(pdfs, rows)}), flush=True)
    if not args.skip_index:
        print("[index] text-layer PDFs: indexing vs bare embedding ...", flush=True)
        figures = indexing(pdfs, rows, args.batch_size, args.rounds)
        print(json.dumps({"index": figures}), flush=True)
        print(f"indexing / bare embedding of the chunk texts: {figures['ratio_index_vs_chunks']}x "
              f"(of all {figures['texts_embedded_by_index']} texts the index embeds: "
              f"{figures['ratio_index_vs_all_texts']}x); floor <= 1.2x")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
