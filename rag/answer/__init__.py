"""Answerers by name. `extractive` quotes the passages (the default: offline, instant, faithful
by construction); `openai`, `ollama`, `llamacpp` and `transformers` generate with an LLM through llama-index and
have every sentence checked, falling back to the extractive answer when the backend is down.

    answerer = build("extractive", config, corpus)
    for item in answerer.stream(Request("Who heads the Russian delegation?")): ...

A new answerer is a class with `stream(request)` and a line in `FACTORIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rag.answer.base import Answerer, Corpus, Request
from rag.config import RagConfig
from rag.errors import InputError


def _extractive(config: RagConfig, corpus: Corpus) -> Answerer:
    from rag.answer.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(config, corpus)


def _generative(name: str) -> Callable[[RagConfig, Corpus], Answerer]:
    def factory(config: RagConfig, corpus: Corpus) -> Answerer:
        from rag.answer.generative import GenerativeAnswerer

        return GenerativeAnswerer(replace(config, generator=name), corpus, fallback=_extractive(config, corpus))

    return factory


FACTORIES: dict[str, Callable[[RagConfig, Corpus], Answerer]] = {
    "extractive": _extractive,
    "openai": _generative("openai"),
    "ollama": _generative("ollama"),
    "llamacpp": _generative("llamacpp"),
    "transformers": _generative("transformers"),
}


def build(name: str, config: RagConfig, corpus: Corpus) -> Answerer:
    if name not in FACTORIES:
        raise InputError(f"generator must be one of {', '.join(FACTORIES)}, not '{name}'")
    return FACTORIES[name](config, corpus)


__all__ = ["Answerer", "Corpus", "FACTORIES", "Request", "build"]
