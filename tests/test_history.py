"""Conversations that last (rag.history): each turn on disk as it is written, a `kill -9` mid-answer
loses nothing written, owners see only their own, listing stays fast; Markdown and JSON exports;
the users file (rag.users); `rag history` and `rag users` through the CLI."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from rag import history_export, users
from rag.errors import InputError, NotFoundError
from rag.history import LOCAL_OWNER, NO_SUCH_CONVERSATION, History
from rag.types import Citation, PageRef
from tests.conftest import ROOT

QUOTE = "The lamp was lit in 1911."


def _citation(marker=1, pages=()) -> Citation:
    return Citation(marker=marker, source="log.pdf", quote=QUOTE, start_char=100, end_char=100 + len(QUOTE),
                    passage=QUOTE, passage_start=100, passage_end=100 + len(QUOTE), chunk_id="c", pages=pages)


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "data" / "conversations.sqlite") as store:
        yield store


def _row(path, turn_id):
    with sqlite3.connect(path) as other:  # a second connection: what is on disk, not in our cache
        return other.execute("SELECT question, answer_text, finished FROM turns WHERE id = ?", (turn_id,)).fetchone()


def test_a_turn_is_on_disk_before_it_finishes(history):
    conversation = history.create("ann")
    turn = history.start_turn(conversation, "ann", "When was the lamp lit?", answerer="extractive")
    assert _row(history.path, turn) == ("When was the lamp lit?", "", 0)
    history.update_turn(turn, "ann", "The lamp was")
    assert _row(history.path, turn) == ("When was the lamp lit?", "The lamp was", 0)
    history.finish_turn(turn, "ann", f"{QUOTE} [1]", [_citation()])
    assert _row(history.path, turn) == ("When was the lamp lit?", f"{QUOTE} [1]", 1)
    with sqlite3.connect(history.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert other.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    got = history.get("ann", conversation)
    assert got.title == "When was the lamp lit?" and len(got.turns) == 1 and got.turns[0].finished
    assert got.turns[0].citations == ({"marker": 1, "source": "log.pdf", "start": 100, "end": 125, "quote": QUOTE,
                                       "pages": [], "section": "body"},)


def test_kill_9_mid_answer_loses_nothing_already_written(tmp_path):
    path = tmp_path / "conversations.sqlite"
    child = textwrap.dedent(f"""
        import sys, time
        from rag.history import History
        history = History({str(path)!r})
        conversation = history.create("ann")
        turn = history.start_turn(conversation, "ann", "Who kept the lamp?")
        history.update_turn(turn, "ann", "The keeper was")
        print(turn, flush=True)
        print("READY", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", child], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        turn = process.stdout.readline().strip()
        assert process.stdout.readline().strip() == "READY"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert _row(path, turn) == ("Who kept the lamp?", "The keeper was", 0)
    with History(path) as history:
        (summary,) = history.list("ann")
        assert not history.get("ann", summary.id).turns[0].finished  # reads back as cut short
        assert "*(the answer was cut short)*" in history_export.to_markdown(history.get("ann", summary.id))


def test_owners_see_only_their_own_and_cannot_tell_absent_from_not_theirs(history):
    ann = history.create("ann", "Ann's")
    turn = history.start_turn(ann, "ann", "Who kept the lamp?")
    bob = history.create("bob")
    assert [s.id for s in history.list("bob")] == [bob]
    attempts = [
        lambda cid: history.get("bob", cid),
        lambda cid: history.rename("bob", cid, "mine now"),
        lambda cid: history.delete("bob", cid),
        lambda cid: history.start_turn(cid, "bob", "a question"),
        lambda cid: history.add_turn(cid, "bob", "a question", "an answer"),
        lambda cid: history_export.to_json(history.get("bob", cid)),
    ]
    for attempt in attempts:
        messages = set()
        for cid in (ann, "no-such-id-at-all"):
            with pytest.raises(NotFoundError) as refused:
                attempt(cid)
            messages.add(str(refused.value))
        assert messages == {NO_SUCH_CONVERSATION}
        assert isinstance(refused.value, InputError)
    with pytest.raises(NotFoundError, match="no such turn"):
        history.update_turn(turn, "bob", "hijacked")
    with pytest.raises(NotFoundError, match="no such turn"):
        history.finish_turn(turn, "bob", "hijacked")
    got = history.get("ann", ann)
    assert got.title == "Ann's" and got.turns[0].answer_text == ""
    assert [s.id for s in history.list("ann")] == [ann]


def test_list_is_newest_first_titled_by_the_first_question_and_pages(history):
    first = history.create("ann")
    history.add_turn(first, "ann", "Who kept   the lamp?", "Mr Hale [1]", "extractive", [_citation()])
    history.add_turn(first, "ann", "And after him?", "His son.", "extractive")
    second = history.create("ann")
    history.add_turn(second, "ann", "When was it lit?", "In 1911.", "extractive")
    summaries = history.list("ann")
    assert [(s.id, s.title, s.turns) for s in summaries] == [(second, "When was it lit?", 1),
                                                             (first, "Who kept the lamp?", 2)]
    history.update_turn(history.get("ann", first).turns[1].id, "ann", "His son, later.")
    assert [s.id for s in history.list("ann")] == [first, second]  # an answer written moves it up
    assert [s.id for s in history.list("ann", limit=1, offset=1)] == [second]
    history.rename("ann", first, "  The  keepers ")
    assert history.list("ann")[0].title == "The keepers"
    history.delete("ann", first)
    assert [s.id for s in history.list("ann")] == [second]
    with sqlite3.connect(history.path) as other:
        assert other.execute("SELECT count(*) FROM turns WHERE conversation_id = ?", (first,)).fetchone() == (0,)
    with pytest.raises(InputError):
        history.list("ann", limit=0)


def test_listing_1000_conversations_takes_at_most_200_ms(history):
    for n in range(1000):
        history.create("ann")  # each commit forced to disk: the slow part, and not what is timed
    db = history._connection()
    with db:
        ids = [row[0] for row in db.execute("SELECT id FROM conversations")]
        db.executemany("""INSERT INTO turns (id, conversation_id, seq, question, created_at, updated_at)
                          VALUES (?, ?, 1, ?, ?, ?)""",
                       [(f"t{n}", cid, f"Question number {n}?", time.time(), time.time())
                        for n, cid in enumerate(ids)])
    history.create("bob")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        listed = history.list("ann", limit=1000)
        timings.append(time.perf_counter() - started)
    assert len(listed) == 1000 and all(s.title.startswith("Question number") for s in listed)
    print(f"listing 1000 conversations: best {min(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms")
    assert min(timings) <= 0.2


def test_markdown_and_json_exports(history):
    conversation = history.create("ann")
    pages = (PageRef(number=3, label="3", start=0, end=500),)
    history.add_turn(conversation, "ann", "When was the lamp lit?", f"{QUOTE} [1] [2]", "extractive",
                     [_citation(1, pages), _citation(2)])
    got = history.get("ann", conversation)
    markdown = history_export.to_markdown(got)
    assert markdown.startswith("# When was the lamp lit?\n\n## When was the lamp lit?\n\nThe lamp was lit in 1911. [1] [2]")
    assert f'[1] log.pdf, p. 3, characters 100–125: "{QUOTE}"' in markdown
    assert f'[2] log.pdf, characters 100–125: "{QUOTE}"' in markdown
    data = json.loads(history_export.to_json(got))
    assert data["format"] == "rag-conversation" and data["id"] == conversation
    (turn,) = data["turns"]
    assert turn["question"] == "When was the lamp lit?" and turn["answer"] == f"{QUOTE} [1] [2]"
    assert turn["finished"] is True and turn["answerer"] == "extractive"
    assert turn["citations"][0]["pages"] == [{"number": 3, "label": "3", "start": 0, "end": 500, "ocr": False}]
    assert turn["citations"][1]["quote"] == QUOTE


def test_the_users_file_holds_salted_scrypt_hashes_only(tmp_path):
    path = tmp_path / "users"
    assert users.add_user(path, "ann", "correct horse") is False
    users.add_user(path, "bob", "correct horse")
    text = path.read_text()
    assert "correct horse" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = dict(line.split(":", 1) for line in text.splitlines())
    scheme, n, r, p, salt, key = lines["ann"].split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1") and salt and key
    assert lines["ann"] != lines["bob"]  # salted: one password, two hashes
    assert users.check_login(path, "ann", "correct horse")
    assert not users.check_login(path, "ann", "wrong horse")
    assert not users.check_login(path, "carol", "correct horse")
    assert users.add_user(path, "ann", "battery staple") is True  # replaced, not appended
    assert list(users.read_users(path)) == ["ann", "bob"]
    assert users.check_login(path, "ann", "battery staple") and not users.check_login(path, "ann", "correct horse")
    users.remove_user(path, "bob")
    assert list(users.read_users(path)) == ["ann"]
    with pytest.raises(InputError):
        users.add_user(path, "eve:admin", "correct horse")
    with pytest.raises(InputError):
        users.add_user(path, "eve", "short")
    with pytest.raises(InputError, match="without a login"):
        users.add_user(path, LOCAL_OWNER, "correct horse")


def test_history_through_the_cli(tmp_path, cli):
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("history", "list", env=env).out.strip() == "no conversations yet"
    with History(tmp_path / "data" / "conversations.sqlite") as store:
        mine = store.create(LOCAL_OWNER)
        store.add_turn(mine, LOCAL_OWNER, "When was the lamp lit?", f"{QUOTE} [1]", "extractive", [_citation()])
        theirs = store.create("ann")
    listed = cli("history", "list", "--json", env=env)
    assert listed.code == 0 and [c["id"] for c in listed.json()] == [mine]
    assert [c["id"] for c in cli("history", "list", "--user", "ann", "--json", env=env).json()] == [theirs]
    shown = cli("history", "show", mine, env=env)
    assert shown.code == 0 and f'[1] log.pdf, characters 100–125: "{QUOTE}"' in shown.out
    assert cli("history", "show", mine, "--json", env=env).json()["turns"][0]["answer"] == f"{QUOTE} [1]"
    out = tmp_path / "export" / "talk.json"
    assert cli("history", "export", mine, "--format", "json", "--out", out, env=env).code == 0
    assert json.loads(out.read_text())["id"] == mine
    assert "## When was the lamp lit?" in cli("history", "export", mine, "--format", "md", env=env).out
    for args in (["show", theirs], ["export", theirs], ["delete", theirs], ["rename", theirs, "x"], ["show", "nope"]):
        refused = cli("history", *args, env=env)
        assert refused.code != 0 and refused.err.strip() == "error: no such conversation"
    assert cli("history", "rename", mine, "Lamps", env=env).code == 0
    assert cli("history", "list", env=env).out.split("  ")[-1].strip() == "Lamps"
    assert cli("history", "delete", mine, env=env).code == 0
    assert cli("history", "list", "--json", env=env).json() == []


def test_users_through_the_cli(tmp_path, cli, monkeypatch):
    path = tmp_path / "users"
    env = {"RAG_UI_USERS": path}
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse\n"))
    added = cli("users", "add", "ann", env=env)
    assert added.code == 0 and "added ann" in added.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "correct horse" not in path.read_text()
    assert users.check_login(path, "ann", "correct horse")
    assert cli("users", "list", "--json", env=env).json() == ["ann"]
    assert cli("config", "--json", env=env).json()["RAG_UI_USERS"] == str(path)
    missing = cli("users", "remove", "bob", env=env)
    assert missing.code != 0 and missing.err.startswith("error: no user 'bob'")
    assert cli("users", "remove", "ann", env=env).code == 0
    assert cli("users", "list", env=env).out.startswith("no users")
    unset = cli("users", "list")
    assert unset.code != 0 and "RAG_UI_USERS" in unset.err
