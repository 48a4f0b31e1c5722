"""An upload is embedded while answers go on: only the switch-over to the new index is exclusive."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from index.pipeline import Indexer
from rag.assistant import Assistant
from rag.config import RagConfig
from rag.types import Answer
from ui.chat import ChatService

UPLOAD = ("The Quillmere lighthouse was rebuilt in 1911 after a storm destroyed the old tower. "
          "Its keeper, Ada Fenwick, kept the lamp burning through the winter of 1912.\n") * 3


def _answer(service: ChatService, question: str) -> Answer:
    *_, answer = service.ask(question)
    return answer


def test_a_question_is_answered_while_an_upload_is_being_embedded(seeds_index, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    shutil.copytree(seeds_index, data_dir)
    config = RagConfig.from_env({}, data_dir=data_dir, upload_dir=tmp_path / "uploads")
    service = ChatService(Assistant(config))
    answered_meanwhile: list[Answer] = []
    prepare = Indexer.prepare

    def prepare_while_asking(self, paths):
        # Asked from another thread while this one embeds: with the write lock held during
        # embedding (as before), this question would wait for the whole upload.
        asker = threading.Thread(target=lambda: answered_meanwhile.append(
            _answer(service, "Who heads the Russian delegation?")))
        asker.start()
        asker.join(timeout=120)
        return prepare(self, paths)

    monkeypatch.setattr(Indexer, "prepare", prepare_while_asking)
    source = tmp_path / "lighthouse.txt"
    source.write_text(UPLOAD, encoding="utf-8")
    result = service.add_files([(source, "lighthouse.txt")])

    assert result.added == ["lighthouse.txt"], result.message()
    assert len(answered_meanwhile) == 1 and "Medinsky" in answered_meanwhile[0].text
    after = _answer(service, "Who kept the Quillmere lighthouse lamp burning?")
    assert "Ada Fenwick" in after.text and after.citations[0].source == "lighthouse.txt"
    assert not any(Path(config.upload_dir).glob(".*.previous"))
    service.assistant.close()


@pytest.mark.slow  # two real-model index runs
def test_prepared_vectors_are_the_ones_a_plain_run_computes(corpus, tmp_path):
    """Embedding ahead of the switch-over changes nothing in what is stored."""
    ids = {}
    for name, exclusive in (("plain", None), ("prepared", threading.Lock)):
        config = RagConfig.from_env({}, data_dir=tmp_path / name)
        assistant = Assistant(config)
        report = assistant.index([corpus / "002_52652048721d3da2.txt"], exclusive=exclusive)
        assert report.added == ["002_52652048721d3da2.txt"]
        hits = assistant.search("trilateral talks cessation of hostilities", k=3)
        ids[name] = [(h.chunk_id, round(h.score, 5)) for h in hits]
        assistant.close()
    assert ids["plain"] == ids["prepared"]
