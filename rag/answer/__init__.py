"""Answerers by name, one for each backend in rag.backends: `extractive` quotes the passages
(the default: offline, instant, faithful by construction); the LLM backends (`openai`, `ollama`,
`llamacpp`, `transformers`) generate through llama-index and have every sentence checked, falling
back to the extractive answer when the backend is down.

    answerer = build("extractive", config, corpus)
    for item in answerer.stream(Request("Who heads the Russian delegation?")): ...

An answerer is a class with `stream(request)`; a new LLM backend is a line in rag.backends.
"""

from __future__ import annotations

from dataclasses import replace

from rag import backends
from rag.answer.base import Answerer, Corpus, Request
from rag.config import RagConfig
from rag.errors import ConfigError, InputError


def build(name: str, config: RagConfig, corpus: Corpus) -> Answerer:
    """The answerer for backend `name`: the extractive one, or an LLM one over its backend with the
    extractive one to fall back on."""
    from rag.answer.extractive import ExtractiveAnswerer

    try:
        backend = backends.get(name)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    extractive = ExtractiveAnswerer(config, corpus)
    if backend.llm is None:
        return extractive
    from rag.answer.generative import GenerativeAnswerer

    return GenerativeAnswerer(replace(config, generator=name), corpus, fallback=extractive)


__all__ = ["Answerer", "Corpus", "Request", "build"]
