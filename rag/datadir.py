"""Every file and folder a data folder holds, re-exported from `index.datadir` for the edges."""

from index.datadir import (  # noqa: F401
    BM25_PREFIX, chroma, conversations, eval_cache, feedback, lock, manifest, onnx, upload_cache,
)
