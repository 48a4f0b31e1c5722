"""Every file and folder a data folder holds, re-exported from `index.datadir` for the edges."""

from index.datadir import BM25_PREFIX, chroma, eval_cache, feedback, lock, manifest, onnx, upload_cache  # noqa: F401
