"""A cited chat assistant over a document corpus.

    from rag import Assistant, RagConfig
    assistant = Assistant(RagConfig.from_env())
    assistant.index(["seeds/"])
    answer = assistant.ask("How did the US role in the talks change?")
    print(answer.text)
    for c in answer.citations:
        print(c.marker, c.source, c.start_char, c.end_char, c.quote)

Importing this package is cheap: models, torch and Chroma load on first use.
"""

from index.types import Chunk, Document, IndexReport
from rag.assistant import Assistant
from rag.config import RagConfig
from rag.errors import (
    BackendError,
    ConfigError,
    DownloadError,
    IndexBusyError,
    IndexDamagedError,
    IndexMissingError,
    InputError,
    ModelMismatchError,
    RagError,
    StoreError,
)
from rag.types import Answer, AnswerSentence, Citation, Hit, IndexStatus

__all__ = [
    "Assistant", "RagConfig", "Answer", "AnswerSentence", "Citation", "Hit", "IndexStatus", "IndexReport",
    "Chunk", "Document", "RagError", "BackendError", "ConfigError", "DownloadError", "InputError", "IndexBusyError", "IndexDamagedError", "IndexMissingError",
    "ModelMismatchError", "StoreError",
]
