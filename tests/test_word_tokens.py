"""Token ids word by word: a BERT tokenizer reads each whitespace-separated word on its own, so
`Tokens` tokenizes a word once and gives a text's ids from its words. The ids must be exactly the
model tokenizer's, on prose, code, every Unicode space and control character, and real manuals."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from index.embed import Tokens, _reads_words_alone, padded, resolve_model
from index.readers.html import HtmlReader

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PG_HTML = Path("/usr/share/doc/postgresql-doc-15/html")
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture(scope="module")
def both():
    from transformers import AutoTokenizer

    ref = resolve_model(MODEL)
    return Tokens(ref), AutoTokenizer.from_pretrained(str(ref.local_dir))


def _same(tokens: Tokens, hf, texts: list[str]) -> list[str]:
    """The texts whose word-by-word ids differ from the tokenizer's (or that the shortcut refused)."""
    wrong = []
    for text in texts:
        rows = tokens.model_rows([text], 256)
        expected = hf([text], truncation="longest_first", max_length=256)["input_ids"][0]
        if rows is None or rows[0] != expected:
            wrong.append(text)
    return wrong


def test_word_by_word_ids_are_the_tokenizer_s_on_odd_text(both):
    tokens, hf = both
    texts = ["naïve café ÅNGSTRÖM İstanbul ﬁnance ß ẞ ǅ", "中文字符测试 mixed中文text", "x[MASK]y [SEP] [cls] [UNK]",
             "a\u200bb soft\xadhyphen", "e\u0301 \u0301a", "a" * 150 + " b", "emoji 😀🇺🇸 ok Ⅻ ① ²³",
             "SELECT pg_stat_reset(); -- resets\tall counters", "word " * 400]
    odd = [chr(c) for c in range(0x110000)
           if chr(c).isspace() or unicodedata.category(chr(c)) in ("Cc", "Cf", "Zs", "Zl", "Zp")]
    texts += [f"alpha{c}beta gamma{c} {c}delta" for c in odd if c not in "\x0b\x0c\x1c\x1d\x1e\x1f\x85"]
    assert _same(tokens, hf, texts) == []
    assert tokens.model_rows(["one\x1ctwo"], 256) is None  # Python splits there, the tokenizer does not
    assert tokens.count(["one\x1ctwo", "three four"]) == [len(hf("one\x1ctwo", add_special_tokens=False)["input_ids"]), 2]
    assert len(tokens.model_rows(["word " * 400], 256)[0]) == 256


def test_word_by_word_ids_are_the_tokenizer_s_on_the_seeds(both):
    tokens, hf = both
    lines = [line for path in sorted(SEEDS.glob("*")) if path.is_file()
             for line in path.read_text(errors="replace").splitlines() if line.strip()]
    assert lines and _same(tokens, hf, lines) == []


@pytest.mark.skipif(not PG_HTML.is_dir(), reason="postgresql-doc-15 is not installed (apt-get install postgresql-doc-15)")
def test_word_by_word_ids_are_the_tokenizer_s_on_a_real_manual(both):
    tokens, hf = both
    texts = []
    for path in sorted(PG_HTML.glob("*.html"))[:60]:
        text = HtmlReader().read(path.read_bytes()).text
        texts += [text[i:i + 1500] for i in range(0, len(text), 1500)]
    assert len(texts) > 100 and _same(tokens, hf, texts) == []


def test_only_tokenizers_that_read_words_alone_take_the_shortcut(both):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokens, _ = both
    assert _reads_words_alone(tokens._tok)
    sentencepiece_like = Tokenizer(models.Unigram([("▁a", -1.0), ("a", -2.0)]))
    sentencepiece_like.pre_tokenizer = pre_tokenizers.Metaspace()
    assert not _reads_words_alone(sentencepiece_like)


def test_rows_are_padded_to_the_multiple_with_a_mask():
    inputs = padded([[101, 7, 102], [101, 102]], 4)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    assert ids.tolist() == [[101, 7, 102, 0], [101, 102, 0, 0]] and mask.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert ids.dtype == np.int64 and inputs["token_type_ids"].tolist() == [[0] * 4] * 2


def test_vectors_from_ids_made_here_are_the_vectors_from_the_tokenizer():
    from index import embedders

    embedder = embedders.build(MODEL)
    texts = [line for line in (SEEDS / sorted(p.name for p in SEEDS.glob("*") if p.is_file())[0]).read_text()
             .splitlines() if line.strip()][:24] + ["x", "naïve café\u00a0crème", "word " * 400]
    ours = embedder.embed(texts)
    _, precision = embedder.runtime
    through_the_tokenizer, _ = embedder._forward_all(texts, precision, [[(0, 1)]] * len(texts))
    assert float(np.min(np.sum(ours * through_the_tokenizer, axis=1))) > 0.9999
