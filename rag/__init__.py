"""A cited chat assistant over a document corpus.

    from rag import Assistant, RagConfig
    assistant = Assistant(RagConfig.from_env())
    assistant.index(["seeds/"])
    for hit in assistant.search("How did the US role in the talks change?", k=3):
        print(hit.source, hit.start_char, hit.end_char, hit.score)

Importing this package is cheap: models, torch and Chroma load on first use.
"""

from index.types import Chunk, Document, IndexReport
from rag.assistant import Assistant
from rag.config import RagConfig
from rag.errors import (
    ConfigError,
    IndexBusyError,
    IndexMissingError,
    InputError,
    ModelMismatchError,
    RagError,
    StoreError,
)
from rag.types import Hit, IndexStatus

__all__ = [
    "Assistant", "RagConfig", "Hit", "IndexStatus", "IndexReport", "Chunk", "Document",
    "RagError", "ConfigError", "InputError", "IndexBusyError", "IndexMissingError",
    "ModelMismatchError", "StoreError",
]
