"""Conversations that last: each question and its answer kept in `conversations.sqlite` in the
data folder, per owner (a login name, or `LOCAL_OWNER` where there is no login).

A turn is written as soon as it is asked (`start_turn`), its answer as it streams (`update_turn`)
and closed by `finish_turn`; each call commits (WAL, synchronous=FULL) before it returns, so a crash
or `kill -9` mid-answer loses nothing already written: the turn reads back unfinished.

Every method takes the owner and answers an id that is not the owner's with the same
`NotFoundError` as an id that does not exist, so ids (unguessable in any case) cannot be probed.
Citations are kept as JSON per turn, in the shape `citation_record` gives.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import InputError, NotFoundError, StoreError

LOCAL_OWNER = "local"  # whose conversations they are when nobody logs in (the chat on loopback, the CLI)
SCHEMA_VERSION = 1
MAX_LIST = 1000  # conversations one `list` call returns at most
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 200_000  # a question or an answer; far beyond what the chat accepts or writes
NO_SUCH_CONVERSATION = "no such conversation"
NO_SUCH_TURN = "no such turn"

# Each version's statements bring the file from the version before it; `meta` records where it is.
_MIGRATIONS = {
    1: [
        """CREATE TABLE conversations (
               id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
               created_at REAL NOT NULL, updated_at REAL NOT NULL)""",
        "CREATE INDEX conversations_by_owner ON conversations (owner, updated_at)",
        """CREATE TABLE turns (
               id TEXT PRIMARY KEY,
               conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
               seq INTEGER NOT NULL, question TEXT NOT NULL, answer_text TEXT NOT NULL DEFAULT '',
               answerer TEXT NOT NULL DEFAULT '', citations TEXT NOT NULL DEFAULT '[]',
               finished INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL)""",
        "CREATE INDEX turns_by_conversation ON turns (conversation_id, seq)",
    ],
}


@dataclass(frozen=True)
class Turn:
    """One question and its answer; `finished` is False while it streams, or when it was cut short."""

    id: str
    question: str
    answer_text: str
    answerer: str
    citations: tuple[dict, ...]  # citation_record's shape: marker, source, start, end, pages, quote, section
    finished: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str  # the title given, else the first question
    created_at: float
    updated_at: float
    turns: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str
    created_at: float
    updated_at: float
    turns: tuple[Turn, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def citation_record(citation) -> dict:
    """What is kept of a citation (an `rag.types.Citation`, or a dict already in this shape)."""
    if isinstance(citation, dict):
        record = {key: citation.get(key) for key in ("marker", "source", "start", "end", "quote")}
        record["pages"] = list(citation.get("pages") or [])
        record["section"] = citation.get("section") or "body"
        return record
    return {
        "marker": citation.marker, "source": citation.source, "start": citation.start_char,
        "end": citation.end_char, "quote": citation.quote, "section": citation.section,
        "pages": [{"number": p.number, "label": p.label, "start": p.start, "end": p.end, "ocr": p.ocr}
                  for p in citation.pages],
    }


class History:
    """The conversations file: one connection shared by the threads of a process (under a lock);
    other processes may read and write the same file at the same time (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- conversations ---

    def create(self, owner: str, title: str = "") -> str:
        """A new, empty conversation of `owner`; its id."""
        _check_owner(owner)
        conversation_id, now = secrets.token_urlsafe(16), time.time()
        self._write("INSERT INTO conversations (id, owner, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (conversation_id, owner, _title(title), now, now))
        return conversation_id

    def list(self, owner: str, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        """`owner`'s conversations, the most recently updated first."""
        _check_owner(owner)
        if not 1 <= limit <= MAX_LIST or offset < 0:
            raise InputError(f"list between 1 and {MAX_LIST} conversations from an offset of 0 or more")
        rows = self._read(
            """SELECT c.id, c.title, c.created_at, c.updated_at,
                      (SELECT question FROM turns t WHERE t.conversation_id = c.id ORDER BY seq LIMIT 1),
                      (SELECT count(*) FROM turns t WHERE t.conversation_id = c.id)
               FROM conversations c WHERE c.owner = ? ORDER BY c.updated_at DESC, c.rowid DESC
               LIMIT ? OFFSET ?""", (owner, limit, offset))
        return [ConversationSummary(id=r[0], title=r[1] or _first_line(r[4]), created_at=r[2], updated_at=r[3],
                                    turns=r[5]) for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        """The conversation with every turn, oldest first, and their citations."""
        head = self._owned(owner, conversation_id)
        rows = self._read("""SELECT id, question, answer_text, answerer, citations, finished, created_at, updated_at
                             FROM turns WHERE conversation_id = ? ORDER BY seq""", (conversation_id,))
        turns = tuple(Turn(id=r[0], question=r[1], answer_text=r[2], answerer=r[3],
                           citations=tuple(_citations_from_json(r[4])), finished=bool(r[5]),
                           created_at=r[6], updated_at=r[7]) for r in rows)
        title = head[1] or _first_line(turns[0].question if turns else "")
        return Conversation(id=conversation_id, owner=owner, title=title, created_at=head[2], updated_at=head[3],
                            turns=turns)

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        self._owned(owner, conversation_id)
        self._write("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                    (_title(title), conversation_id, owner))

    def delete(self, owner: str, conversation_id: str) -> None:
        """Delete the conversation and its turns."""
        self._owned(owner, conversation_id)
        self._write("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))

    # --- turns ---

    def start_turn(self, conversation_id: str, owner: str, question: str, answerer: str = "",
                   created_at: float | None = None) -> str:
        """Record `question` (on disk when this returns) before its answer exists; the turn's id."""
        self._owned(owner, conversation_id)
        turn_id, now = secrets.token_urlsafe(16), created_at or time.time()
        self._write_turn(
            """INSERT INTO turns (id, conversation_id, seq, question, answerer, created_at, updated_at)
               VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE conversation_id = ?), ?, ?, ?, ?)""",
            (turn_id, conversation_id, conversation_id, _text(question, "question"), answerer, now, now),
            conversation_id, now)
        return turn_id

    def update_turn(self, turn_id: str, owner: str, answer_text: str, citations: Iterable = (),
                    answerer: str | None = None) -> None:
        """Replace the answer so far (the whole text streamed until now, not a piece of it)."""
        self._set_answer(turn_id, owner, answer_text, citations, answerer, finished=False)

    def finish_turn(self, turn_id: str, owner: str, answer_text: str, citations: Iterable = (),
                    answerer: str | None = None) -> None:
        """The whole answer and its citations: the turn is complete."""
        self._set_answer(turn_id, owner, answer_text, citations, answerer, finished=True)

    def add_turn(self, conversation_id: str, owner: str, question: str, answer_text: str, answerer: str = "",
                 citations: Iterable = (), created_at: float | None = None) -> str:
        """A whole turn at once (an answer that did not stream); its id."""
        turn_id = self.start_turn(conversation_id, owner, question, answerer, created_at)
        self.finish_turn(turn_id, owner, answer_text, citations, answerer)
        return turn_id

    def _set_answer(self, turn_id: str, owner: str, answer_text: str, citations: Iterable,
                    answerer: str | None, finished: bool) -> None:
        _check_owner(owner)
        found = self._read("""SELECT t.conversation_id FROM turns t JOIN conversations c ON c.id = t.conversation_id
                              WHERE t.id = ? AND c.owner = ?""", (str(turn_id), owner))
        if not found:
            raise NotFoundError(NO_SUCH_TURN)
        cited = json.dumps([citation_record(c) for c in citations], ensure_ascii=False)
        now = time.time()
        self._write_turn("""UPDATE turns SET answer_text = ?, citations = ?, answerer = coalesce(?, answerer),
                            finished = max(finished, ?), updated_at = ? WHERE id = ?""",
                         (_text(answer_text, "answer"), cited, answerer, int(finished), now, turn_id),
                         found[0][0], now)

    # --- the file ---

    def _owned(self, owner: str, conversation_id: str) -> tuple:
        """The conversation's row if it is `owner`'s; else the one error for "absent" and "not yours"."""
        _check_owner(owner)
        rows = self._read("SELECT id, title, created_at, updated_at FROM conversations WHERE id = ? AND owner = ?",
                          (str(conversation_id), owner))
        if not rows:
            raise NotFoundError(NO_SUCH_CONVERSATION)
        return rows[0]

    def _read(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise _unusable(self.path, exc) from None

    def _write(self, sql: str, params: tuple) -> None:
        with self._lock:
            db = self._connection()
            try:
                with db:
                    db.execute(sql, params)
            except sqlite3.DatabaseError as exc:
                raise _unusable(self.path, exc) from None

    def _write_turn(self, sql: str, params: tuple, conversation_id: str, now: float) -> None:
        """A turn's change and its conversation's `updated_at`, committed together."""
        with self._lock:
            db = self._connection()
            try:
                with db:
                    db.execute(sql, params)
                    db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
            except sqlite3.IntegrityError:  # deleted (by another process) since it was checked
                raise NotFoundError(NO_SUCH_CONVERSATION) from None
            except sqlite3.DatabaseError as exc:
                raise _unusable(self.path, exc) from None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a commit is on disk, not only in the OS's cache
                db.execute("PRAGMA foreign_keys=ON")
                _migrate(db, self.path)
            except sqlite3.DatabaseError as exc:
                raise _unusable(self.path, exc) from None
            except OSError as exc:
                raise StoreError(f"cannot open {self.path} ({exc.strerror or exc})") from None
            self._db = db
        return self._db


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    with db:
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path} was written by a newer version of this program (schema {version}, "
                             f"this one knows {SCHEMA_VERSION}); upgrade to read it")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step]:
                db.execute(statement)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    return StoreError(f"the conversations file {path} cannot be used ({exc}); move it aside to start afresh")


def _check_owner(owner: str) -> None:
    if not isinstance(owner, str) or not owner.strip():
        raise InputError("a conversation needs an owner (a user name)")


def _title(title: str) -> str:
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE_CHARS:
        raise InputError(f"a title has at most {MAX_TITLE_CHARS} characters, not {len(title)}")
    return title


def _text(text: str, what: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"that {what} is too long to keep ({len(text):,} characters; the limit is {MAX_TEXT_CHARS:,})")
    return text


def _first_line(question: str | None) -> str:
    """A question as a title: its words on one line, cut at a word near 80 characters."""
    words = " ".join((question or "").split())
    if len(words) <= 80:
        return words or "New conversation"
    return words[:80].rsplit(" ", 1)[0] + "…"


def _citations_from_json(raw: str) -> list[dict]:
    try:
        data = json.loads(raw)
    except ValueError:
        return []  # a hand-edited row: the turn still reads, without its citations
    return [citation_record(c) for c in data if isinstance(c, dict)] if isinstance(data, list) else []
