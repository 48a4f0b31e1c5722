"""Feedback: each record forced to disk before the click returns (it survives `kill -9`), a torn line
skipped with a message, and records turned into eval cases by `rag feedback export`. How long a click
takes is measured by bench/feedback_bench.py, not timed here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from rag import feedback
from rag.types import Answer, Citation
from tests.conftest import ROOT

MEDINSKY = "Who heads the Russian delegation in the talks on the Belarusian-Polish border?"
KOZAK = "The man who was the negotiator for Russia, Dmitry Kozak"


def _answer(question="When was the lamp lit?", abstained=False) -> Answer:
    quote = "The lamp was lit in 1911."
    citation = Citation(marker=1, source="log.txt", quote=quote, start_char=0, end_char=len(quote), passage=quote,
                        passage_start=0, passage_end=len(quote), chunk_id="c")
    return Answer(question=question, text=f"{quote} [1]", abstained=abstained, citations=() if abstained else (citation,))


def test_records_are_read_back_and_a_torn_line_is_skipped_with_a_message(tmp_path):
    log = feedback.FeedbackLog(tmp_path / "feedback.jsonl")
    log.append(feedback.record(_answer(), "good"))
    with log.path.open("ab") as handle:
        handle.write(b'{"time": "2026-11-27", "question": "cut sh')  # a write that a crash cut short
    log.append(feedback.record(_answer("Who kept it?"), "missed", not_in_documents=True))
    records, problems = log.read()
    assert [r["question"] for r in records] == ["When was the lamp lit?", "Who kept it?"]
    assert problems == [f"{log.path}, line 2: not a whole record (a write cut short?); skipped"]
    assert log.count() == 2


@pytest.mark.parametrize("change, problem", [
    ({"time": None}, "'time' is not text"),
    ({"question": 42}, "'question' is not text"),
    ({"right": "log.txt"}, "'right' is not a marked passage"),
    ({"citations": [1, 2]}, "'citations' are not quotes"),
    ({"verdict": "meh"}, "no known verdict"),
])
def test_a_malformed_record_is_skipped_with_a_message_and_the_export_goes_on(tmp_path, cli, change, problem):
    log = feedback.FeedbackLog(tmp_path / "data" / "feedback.jsonl")
    log.append(feedback.record(_answer(), "good"))
    log.append({**feedback.record(_answer("Who kept it?"), "good"), **change})
    records, problems = log.read()
    assert len(records) == 1 and problems == [f"{log.path}, line 2: not a feedback record ({problem}); skipped"]
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    for args in (["list"], ["list", "--json"], ["export", "--out", tmp_path / "cases.jsonl"]):
        result = cli("feedback", *args, env=env)
        assert result.code == 0 and "Traceback" not in result.err and "line 2: not a feedback record" in result.err


def test_listed_feedback_shows_control_and_direction_characters_as_escapes(tmp_path, cli):
    log = feedback.FeedbackLog(tmp_path / "feedback.jsonl")
    log.append(feedback.record(_answer("Who lit the lamp\x9b31m\u202e?"), "good"))
    listed = cli("feedback", "list", "--json", env={"RAG_DATA_DIR": tmp_path})
    assert "\x9b" not in listed.out and "\u202e" not in listed.out and "\\u009b31m\\u202e" in listed.out
    assert json.loads(listed.out)[0]["question"] == "Who lit the lamp\x9b31m\u202e?"  # the same text, escaped
    plain = cli("feedback", "list", env={"RAG_DATA_DIR": tmp_path})
    assert "\x9b" not in plain.out and "\u202e" not in plain.out and "\\x9b31m\\u202e" in plain.out


def test_feedback_is_held_to_a_size_and_a_rate_and_counted_incrementally(tmp_path, monkeypatch):
    log = feedback.FeedbackLog(tmp_path / "feedback.jsonl")
    with pytest.raises(feedback.InputError, match="too long to keep"):
        log.append({**feedback.record(_answer(), "good"), "answer": "x" * 300_000})
    for n in range(feedback.MAX_PER_MINUTE):
        log.append(feedback.record(_answer(f"Question {n}?"), "good"))
    with pytest.raises(feedback.InputError, match="too much feedback at once"):
        log.append(feedback.record(_answer(), "good"))
    assert log.count() == feedback.MAX_PER_MINUTE
    reads = []
    monkeypatch.setattr(feedback.json, "loads", lambda line, _loads=json.loads: reads.append(line) or _loads(line))
    assert log.count() == feedback.MAX_PER_MINUTE and not reads  # nothing new: nothing read
    with log.path.open("ab") as handle:
        handle.write((json.dumps(feedback.record(_answer("Later?"), "good")) + "\n").encode())
    assert log.count() == feedback.MAX_PER_MINUTE + 1 and len(reads) == 1  # only the new line


def test_a_record_survives_kill_9_right_after_the_click(tmp_path):
    path = tmp_path / "feedback.jsonl"
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from rag import feedback\nfrom tests.test_feedback import _answer\n"
              f"feedback.FeedbackLog(__import__('pathlib').Path({str(path)!r})).append(feedback.record(_answer(), 'good'))\n"
              "print('recorded', flush=True)\nimport time; time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "recorded"
    finally:
        os.kill(process.pid, signal.SIGKILL)  # the moment the click has returned
        process.wait()
    records, problems = feedback.FeedbackLog(path).read()
    assert len(records) == 1 and not problems and records[0]["verdict"] == "good"


def test_records_become_eval_cases():
    marked = feedback.record(_answer("Who kept the lamp?"), "wrong_source",
                             right=feedback.Span("log.txt", 40, 60, "Ada Fenwick kept it"))
    unanswerable = feedback.record(_answer("Was it painted red?"), "should_abstain")
    not_there = feedback.record(_answer("Who built it?"), "missed", not_in_documents=True)
    unmarked = feedback.record(_answer("When did it close?"), "wrong_source")
    good = feedback.record(_answer("When was the lamp lit?"), "good")
    earlier = feedback.record(_answer("Who kept the lamp?"), "good")
    made, skipped = feedback.cases([earlier, marked, unanswerable, not_there, unmarked, good, good])
    by_question = {case["question"]: case for case in made}
    assert by_question["Who kept the lamp?"]["evidence"] == ["Ada Fenwick kept it"]  # the latest record decides
    assert by_question["Who kept the lamp?"]["sources"] == ["log.txt"]
    assert by_question["Was it painted red?"]["evidence"] == [] and by_question["Who built it?"]["evidence"] == []
    assert by_question["When was the lamp lit?"]["evidence"] == ["The lamp was lit in 1911."]
    assert len(made) == 4 and all(case["split"] == "feedback" and case["id"].startswith("feedback-") for case in made)
    assert skipped == ["“When did it close?”: marked wrong source without the right passage"]


def test_a_bad_verdict_or_a_double_mark_is_refused():
    from rag.errors import InputError

    with pytest.raises(InputError, match="unknown feedback 'meh'"):
        feedback.record(_answer(), "meh")
    with pytest.raises(InputError, match="not both"):
        feedback.record(_answer(), "missed", right=feedback.Span("a", 0, 1, "x"), not_in_documents=True)


@pytest.mark.slow  # end to end: the chat service, then the CLI
def test_the_chat_records_a_marked_span_and_the_cli_exports_it(seeds_index, tmp_path, cli):
    import shutil

    from rag.assistant import Assistant
    from rag.config import RagConfig
    from rag.errors import InputError
    from ui.chat import ChatService

    data_dir = tmp_path / "data"
    shutil.copytree(seeds_index, data_dir)
    service = ChatService(Assistant(RagConfig.from_env({}, data_dir=data_dir)))
    try:
        *_, answer = service.ask(MEDINSKY)
        source = answer.citations[0].source
        text = service.document(source)
        start = text.index(KOZAK)
        selection = json.dumps({"source": source, "start": start, "end": start + len(KOZAK)})
        said = service.feedback(answer, "wrong_source", "selection", selection, {"k": 5})
        assert said.startswith("Recorded: wrong source (right passage:")
        assert "**1** feedback" in service.status_markdown()
        with pytest.raises(InputError, match="select the right text"):
            service.feedback(answer, "missed", "selection", "")
        service.feedback(answer, "good", "passage:1")
    finally:
        service.assistant.close()
    listed = cli("--data-dir", data_dir, "feedback", "list", "--json").json()
    assert [r["verdict"] for r in listed] == ["wrong_source", "good"]
    assert listed[0]["right"]["text"] == KOZAK and listed[0]["settings"] == {"k": 5}
    out = tmp_path / "cases.jsonl"
    exported = cli("--data-dir", data_dir, "feedback", "export", "--out", out)
    assert exported.code == 0 and f"rag eval {out} --corpus " in exported.out
    (case,) = [json.loads(line) for line in out.read_text().splitlines()]  # the latest record for the question
    assert case["question"] == MEDINSKY and case["split"] == "feedback" and case["evidence"]
    evaluated = cli("--data-dir", data_dir, "eval", "--feedback", "--max-queries", "1", "--out", tmp_path / "report",
                    "--cache", tmp_path / "cache", "--json")
    assert evaluated.code == 0 and set(evaluated.json()["default"]["splits"]) == {"dev", "test", "feedback"}
