"""Uploads from several browsers: read side by side, each browser's in turn and capped, cancellable,
and each file read once (the upload check's reading is the one indexed)."""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from index import readers
from index.errors import Cancelled, InputError
from rag.assistant import Assistant
from rag.config import RagConfig
from tests.pdfs import make_pdf
from ui.chat import ChatService, UploadQueues

SMALL = "The Quillmere lighthouse keeper in 1912 was Ada Fenwick, who kept the lamp burning all winter.\n"
SLOW = "Tom Hale rebuilt the Quillmere pier in 1931 with oak brought from the mainland by barge.\n"


@pytest.fixture
def service(seeds_index, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(seeds_index, data_dir)
    chat = ChatService(Assistant(RagConfig.from_env({}, data_dir=data_dir, upload_dir=tmp_path / "uploads")))
    yield chat
    chat.assistant.close()


@pytest.fixture
def held(monkeypatch):
    """Reading `slow.txt` waits until the test lets it go (a long OCR, as far as others can tell)."""
    reading, release = threading.Event(), threading.Event()
    read = readers.read

    def read_held(name, data, options=readers.ReadOptions()):
        if name == "slow.txt":
            reading.set()
            assert release.wait(60)
        return read(name, data, options)

    monkeypatch.setattr(readers, "read", read_held)
    return reading, release


def _file(tmp_path, name: str, text: str):
    path = tmp_path / f"raw-{name}"
    path.write_text(text, encoding="utf-8")
    return path, name


def _in_thread(target) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run():
        try:
            outcome.append(target())
        except Exception as exc:  # noqa: BLE001 - handed to the test to check
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_another_browsers_small_upload_is_searchable_while_a_long_one_is_read(service, held, tmp_path):
    reading, release = held
    slow, slow_done = _in_thread(lambda: service.add_files([_file(tmp_path, "slow.txt", SLOW)], browser="a"))
    assert reading.wait(30)
    started = time.perf_counter()
    small = service.add_files([_file(tmp_path, "small.txt", SMALL)], browser="b")
    assert small.added == ["small.txt"], small.message()
    assert time.perf_counter() - started < 30 and not slow_done  # it did not wait for the long one
    hits = service.assistant.search("Who kept the Quillmere lamp in 1912?", k=1)
    assert hits[0].source == "small.txt"
    release.set()
    slow.join(60)
    assert slow_done[0].added == ["slow.txt"]
    assert {"small.txt", "slow.txt"} <= set(service.sources())


def test_a_cancelled_upload_leaves_nothing_and_the_next_one_goes_through(service, held, tmp_path):
    reading, release = held
    before = service.sources()
    slow, outcome = _in_thread(lambda: service.add_files([_file(tmp_path, "slow.txt", SLOW)], browser="a"))
    assert reading.wait(30)
    assert service.cancel_uploads("a") and not service.cancel_uploads("b")
    release.set()
    slow.join(60)
    assert isinstance(outcome[0], Cancelled)
    assert service.sources() == before and not list((tmp_path / "uploads").glob("*slow*"))
    again = service.add_files([_file(tmp_path, "small.txt", SMALL)], browser="a")  # the cancel was spent
    assert again.added == ["small.txt"]


def test_one_browser_has_a_capped_queue():
    queues = UploadQueues(2)
    queues.enter("a")
    queues.enter("a")
    with pytest.raises(InputError, match="2 uploads from this window are already being indexed"):
        queues.enter("a")
    queues.enter("b")  # another browser is not held to a's count
    queues.leave("a")
    queues.enter("a")


def test_an_uploaded_file_is_read_once(service, monkeypatch, tmp_path):
    calls = []
    read = readers.read
    monkeypatch.setattr(readers, "read", lambda name, data, options=readers.ReadOptions(): (
        calls.append(name), read(name, data, options))[1])
    path = tmp_path / "raw.pdf"
    path.write_bytes(make_pdf([["Keepers' log."], ["Ada Fenwick kept the Quillmere lamp from 1931 to 1940."]]))
    result = service.add_files([(path, "log.pdf")], browser="a")
    assert result.added == ["log.pdf"], result.message()
    assert calls == ["log.pdf"]
