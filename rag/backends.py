"""Answer backends: one table from a name to how its LLM is built, the extra that installs what it
imports, and whether this configuration can use it. The CLI's choices, the configuration's check,
the answerers (rag.answer) and the chat's list of answerers all read it; another backend is one
`register(Backend(...))` line and its builder.

`extractive` has no LLM: it quotes the passages (offline, instant, faithful by construction). The
others generate through llama-index and have every sentence checked (rag.answer.generative).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.config import RagConfig


@dataclass(frozen=True)
class Backend:
    name: str
    llm: Callable[[RagConfig], Any] | None  # the llama-index LLM; None: answers without one
    extra: str = ""  # `pip install 'rag-cited[EXTRA]'` installs what `llm` imports
    offer: Callable[[RagConfig], str | None] = lambda config: None  # the chat's label, when usable here


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> None:
    BACKENDS[backend.name] = backend


def names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def get(name: str) -> Backend:
    if name not in BACKENDS:
        raise ConfigError(f"generator must be one of {', '.join(BACKENDS)}, not '{name}'")
    return BACKENDS[name]


def build_llm(config: RagConfig):
    """The llama-index LLM for `config.generator`, imported only when one is asked for."""
    backend = get(config.generator)
    if backend.llm is None:
        raise ConfigError(f"the {backend.name} answerer uses no LLM")
    try:
        return backend.llm(config)
    except ImportError as exc:
        raise ConfigError(f"the {backend.name} generator needs packages that are not installed ({exc.name}); "
                          f"install them with `pip install 'rag-cited[{backend.extra}]'`") from None
    except (ValueError, OSError) as exc:  # e.g. a GGUF path that does not exist or does not load
        raise ConfigError(f"cannot set up the {backend.name} generator: {exc}") from None


def offered(config: RagConfig) -> list[tuple[str, str]]:
    """(label, name) of each answerer this configuration can use, the configured one always."""
    return [(label, b.name) for b in BACKENDS.values()
            if (label := b.offer(config) or (b.name if b.name == config.generator else None))]


def _openai(config: RagConfig):
    from llama_index.llms.openai_like import OpenAILike

    if not config.llm_base_url:
        raise ConfigError("the openai generator needs a server: set RAG_LLM_BASE_URL (e.g. http://localhost:8080/v1)")
    return OpenAILike(
        model=config.llm_model or "default", api_base=config.llm_base_url, api_key=config.llm_api_key or "none",
        is_chat_model=True, context_window=config.llm_context_window, max_tokens=config.llm_max_tokens,
        temperature=config.llm_temperature, timeout=config.llm_timeout, max_retries=0,
    )


def _ollama(config: RagConfig):
    from llama_index.llms.ollama import Ollama

    return Ollama(
        model=config.llm_model or "llama3.2", base_url=config.llm_base_url or "http://localhost:11434",
        request_timeout=config.llm_timeout, temperature=config.llm_temperature,
        context_window=config.llm_context_window,
    )


def _llamacpp(config: RagConfig):
    from llama_index.llms.llama_cpp import LlamaCPP

    if not config.llm_model:
        raise ConfigError("the llamacpp generator needs a model file: set RAG_LLM_MODEL=/path/to/model.gguf")
    return LlamaCPP(
        model_path=config.llm_model, temperature=config.llm_temperature, max_new_tokens=config.llm_max_tokens,
        context_window=config.llm_context_window, verbose=False,
    )


def _transformers(config: RagConfig):
    """A local model run in this process by transformers (no compiler needed): a GGUF file, which
    transformers de-quantizes with the `gguf` package, or a model folder; RAG_LLM_MODEL, else the
    first model `rag models list` finds. Greedy decoding unless a
    temperature is set; threads capped so that decoding does not fight the rest of the process for
    the cores, and OpenMP told to sleep rather than spin while it waits (on 2 busy cores a spinning
    pool slowed decoding tenfold)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    from llama_index.llms.huggingface import HuggingFaceLLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rag import models

    chosen = config.llm_model or next((m.path for m in models.find(config) if m.generates), "")
    if not chosen:
        raise ConfigError("the transformers generator needs a model: set RAG_LLM_MODEL to a .gguf file or a "
                          "model folder, or fetch one with `rag models pull OWNER/REPO/FILE.gguf`")
    where = Path(chosen).expanduser()
    if not where.exists():
        raise ConfigError(f"no model at {where} (RAG_LLM_MODEL): give a .gguf file or a model folder")
    torch.set_num_threads(config.llm_threads or max(1, min(4, os.cpu_count() or 1)))
    folder, extra = (where.parent, {"gguf_file": where.name}) if where.is_file() else (where, {})
    tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=_dtype(config.llm_dtype), **extra)
    model.eval()
    sampling = {"do_sample": True, "temperature": config.llm_temperature} if config.llm_temperature > 0 else {
        "do_sample": False}
    window = min(config.llm_context_window, int(getattr(model.config, "max_position_embeddings", 0) or config.llm_context_window))
    return HuggingFaceLLM(
        model=model, tokenizer=tokenizer, model_name=str(where), tokenizer_name=str(where), context_window=window,
        max_new_tokens=config.llm_max_tokens, generate_kwargs=sampling, is_chat_model=True, device_map="cpu",
    )


def _dtype(choice: str):
    """The weights' type: bfloat16 where the CPU has bfloat16 instructions (AVX512-BF16 or AMX; it read
    a 1,078-token prompt 2.6x faster than float32 on these machines), float32 elsewhere (emulated
    bfloat16 is slower)."""
    import torch

    if choice == "auto":
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        choice = "bfloat16" if native else "float32"
    return torch.bfloat16 if choice == "bfloat16" else torch.float32


def _local_model(config: RagConfig) -> str | None:
    """A model this machine has (`rag models list`), run in-process: the chat offers it."""
    from rag import models

    found = [m for m in models.find(config) if m.generates]
    return f"transformers · {found[0].name}" if found else None


register(Backend("extractive", None, offer=lambda config: "extractive"))
register(Backend("openai", _openai, "llm", offer=lambda config: "openai" if config.llm_base_url else None))
register(Backend("ollama", _ollama, "llm", offer=lambda config: "ollama" if config.llm_base_url else None))
register(Backend("llamacpp", _llamacpp, "gguf"))
register(Backend("transformers", _transformers, "local", offer=_local_model))
