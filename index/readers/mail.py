"""Mail through the standard library's `email`: a message (.eml) or a mailbox of them (.mbox).

Each message is a part named by its sender, date and subject ("From Ada Lovelace, 2024-03-01: Re:
engine budget"), a heading line the text starts with, so a citation names the message. Its body is
the text/plain part, or the text/html part read as the HTML reader reads a page when the mail has
no plain one; quoted replies and signatures stay, as text. An attachment in a format a reader takes
is read by that reader and follows the body under its own heading ("… › report.pdf"), an attached
PDF's pages named by its own page labels ("… › report.pdf, page 2"); a mail attached to a mail is
read as a message under it, `MAX_DEPTH` deep at most. What is not read is said in the notes: the
attachments no reader takes (one line), an attachment that is itself damaged (one line each).
A mailbox is cut into messages at its "From " lines, in file order.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import PurePath

from index.errors import InputError
from index.readers.assemble import PATH_JOINT, Assembly, under
from index.readers.base import DEFAULT_OPTIONS, Reading, ReadOptions, Stopwatch, refuse_other_formats
from index.readers.titles import usable

MAX_DEPTH = 3  # a mail attached to a mail attached to a mail: deeper ones are noted, not read
_MAX_NAME = 160  # characters of a header or file name kept in a heading (a hostile one is long)
_MAX_LISTED = 12  # unread attachments named in the notes' line; the rest are counted
_HEADER_LINE = re.compile(rb"[!-9;-~]+:")  # a header field's name and its colon (RFC 5322)
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
# A mailbox's message starts at a "From " line at the start of the file or after a blank line,
# followed by a header line (a body's own "From here on ..." is not followed by one).
_ENVELOPE = re.compile(rb"(?:\A|(?<=\n\n)|(?<=\n\r\n))From [^\n]*\n(?=[!-9;-~]+:)")
_MAIL_SUFFIXES = (".eml", ".mbox")
# Reads an attached file by the reader its name picks, as any file is read (index.readers.registry);
# None when no reader takes its type.
ReadAttached = Callable[[str, bytes, ReadOptions], "Reading | None"]


class MailReader:
    suffixes = (".eml",)

    def __init__(self, read_attached: ReadAttached) -> None:
        self.read_attached = read_attached

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        mail = _Mail(options, self.read_attached)
        try:
            self._add(mail, data)
        except RecursionError:  # the parser recurses once a level: thousands of levels is no mail
            raise InputError("damaged mail: its parts are nested too deep to read") from None
        return mail.reading()

    def _add(self, mail: _Mail, data: bytes) -> None:
        mail.add_message(_parsed(data), "", 0)


class MboxReader(MailReader):
    suffixes = (".mbox",)

    def _add(self, mail: _Mail, data: bytes) -> None:
        mail.add_mailbox(mailbox_messages(data), "", 0)


def mailbox_messages(data: bytes) -> list[bytes]:
    """The messages of an mbox file, in file order (each with its "From " line)."""
    starts = [match.start() for match in _ENVELOPE.finditer(data)]
    if not starts or starts[0] != 0:
        raise InputError('not an mbox mailbox: it does not start with a "From " line followed by mail headers')
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)])]


def _parsed(data: bytes):
    """The message in `data`; InputError when it is not mail (binary, or text with no headers)."""
    import email
    import email.policy

    refuse_other_formats(data, "mail")
    first = data.lstrip(b"\r\n")
    if first.startswith(b"From "):  # an mbox's envelope line before the headers
        first = first.split(b"\n", 1)[-1]
    end = _HEADERS_END.search(first, 0, 1 << 16)
    if not _HEADER_LINE.match(first) or b"\x00" in first[:end.start() if end else 1 << 16]:
        raise InputError("not an e-mail message: it does not start with mail headers (From:, Subject:, ...)")
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not {"from", "to", "subject", "date", "message-id"} & {name.lower() for name in message.keys()}:
        raise InputError("not an e-mail message: it has no From, To, Subject or Date header")
    return message


class _Mail:
    """A mail's text built message by message, attachment by attachment."""

    def __init__(self, options: ReadOptions, read_attached: ReadAttached) -> None:
        self.options = options
        self.read_attached = read_attached
        self.watch: Stopwatch = options.stopwatch()
        self.assembly = Assembly("email")
        self.unread: dict[str, list[str]] = {}  # message path -> its attachments no reader takes
        self.messages = 0
        self.title: str | None = None  # the first message's subject

    def add_mailbox(self, messages: list[bytes], above: str, depth: int) -> None:
        for raw in messages:
            self.watch.check(f"message {self.messages + 1}")
            try:
                message = _parsed(raw)
            except InputError as exc:
                self.assembly.notes.append(f"{under(above, f'message {self.messages + 1}')}: not indexed: {exc}")
                self.messages += 1
                continue
            self.add_message(message, above, depth)

    def add_message(self, message, above: str, depth: int) -> None:
        if self.messages == 0:
            self.title = usable(_clean(_header(message, "subject")))
        self.messages += 1
        name = message_name(message)
        path = under(above, name)
        self.assembly.heading(name, path)
        body = _body_of(message)
        if body is not None:
            self._add_body(body, path)
        for number, part in enumerate(_attachments(message, body), 1):
            self.watch.check(f"message {self.messages}, attachment {number}")
            self._add_attachment(part, path, depth, number)

    def _add_body(self, part, path: str) -> None:
        from index.readers.text import text_blocks

        try:
            text = _text_of(part)
        except InputError as exc:
            self.assembly.notes.append(f"{path}: the message's text not indexed: {exc}")
            return
        if part.get_content_subtype() == "html":
            from index.html_text import html_to_text

            page = html_to_text(text)
            reading = Reading(page.text, "", headings=page.headings, blocks=page.blocks)
        else:
            blocks, headings = text_blocks(text)
            reading = Reading(text, "", headings=headings, blocks=blocks)
        self.assembly.add(reading, path)

    def _add_attachment(self, part, above: str, depth: int, number: int) -> None:
        name, suffix = _file_name(part, number)
        path = under(above, name)
        attached_mail = part.get_content_type() == "message/rfc822" or suffix in _MAIL_SUFFIXES
        if attached_mail and depth >= MAX_DEPTH:
            self.assembly.notes.append(f"{path}: not indexed: mail attached to mail more than {MAX_DEPTH} deep")
            return
        try:
            if part.get_content_type() == "message/rfc822":
                return self.add_message(_attached_message(part), above, depth + 1)
            data = part.get_payload(decode=True) or b""
            if suffix == ".mbox":
                messages = mailbox_messages(data)
                self.assembly.heading(name, path)
                return self.add_mailbox(messages, path, depth + 1)
            if attached_mail:
                message = _parsed(data)
                self.assembly.heading(name, path)
                return self.add_message(message, path, depth + 1)
            reading = self.read_attached(f"attachment{suffix}", data, self.options)
        except InputError as exc:  # the attachment's own fault; the user's cancel goes on up
            self.assembly.notes.append(f"{path}: not indexed: {exc}")
            return
        if reading is None:
            self.unread.setdefault(above, []).append(name)
            return
        self.assembly.heading(name, path)
        self.assembly.add(reading, path)

    def reading(self) -> Reading:
        if self.unread:
            count = sum(map(len, self.unread.values()))
            listed = _listed([f"{path}{PATH_JOINT}{_listed(names)}" for path, names in self.unread.items()], "; ")
            self.assembly.notes.append(f"{count} attachment{'s' * (count != 1)} not indexed, no reader for "
                                       f"{'their' if count != 1 else 'its'} type: {listed}")
        return dataclasses.replace(self.assembly.reading(), title=self.title)


def _listed(items: list[str], joint: str = ", ") -> str:
    more = f"{joint}and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return joint.join(items[:_MAX_LISTED]) + more


def message_name(message) -> str:
    """"From Ada Lovelace, 2024-03-01: Re: engine budget": who sent it, when, about what."""
    sender = _sender(message) or "unknown sender"
    date = _date(message)
    subject = _clean(_header(message, "subject")) or "(no subject)"
    return f"From {sender}{', ' + date if date else ''}: {subject}"


def _header(message, name: str) -> str:
    try:
        return str(message.get(name) or "")
    except Exception:  # noqa: BLE001 - the header parser fails in ways no list covers on hostile headers
        return next((str(value) for key, value in message.raw_items() if key.lower() == name), "")


def _sender(message) -> str:
    import email.utils

    try:
        addresses = message["from"].addresses if message["from"] is not None else ()
        if addresses:
            return _clean(addresses[0].display_name or addresses[0].addr_spec)
    except Exception:  # noqa: BLE001 - as in `_header`
        pass
    name, address = email.utils.parseaddr(_header(message, "from"))
    return _clean(name or address or _header(message, "from"))


def _date(message) -> str:
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(_header(message, "date"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return _clean(_header(message, "date"))
    return when.date().isoformat()


def _clean(text: str) -> str:
    """A header or file name fit for a heading: one line, no path joint of its own, not too long."""
    text = " ".join(text.replace("›", ">").split())
    return text if len(text) <= _MAX_NAME else text[:_MAX_NAME - 1] + "…"


def _text_of(part) -> str:
    """A text part's characters, by its declared charset, else as a text file is decoded."""
    from index.decode import decode

    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset()
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data)[0] if data.strip() else ""


def _attached_message(part):
    """The message a message/rfc822 part holds (the parser has read it already)."""
    payload = part.get_payload()
    if not isinstance(payload, list) or not payload or not hasattr(payload[0], "get_content_type"):
        raise InputError("damaged attached message: it holds no message")
    return payload[0]


def _body_of(message):
    """The part the message's text is in: its plain text, else its HTML; None when it has neither."""
    try:
        return message.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001 - a multipart with no boundary has a string for parts
        return None


def _nests(part) -> bool:
    """Whether `part` holds parts to walk: a multipart that parsed as one (a message attached to
    the mail is one part: it is read as a message)."""
    return part.get_content_maintype() == "multipart" and part.is_multipart()


def _attachments(message, body) -> list:
    """The message's parts in order, other than its body and the body's other renditions (the HTML
    beside the plain text), with an attached message as one part (it is read as a message)."""
    parents: dict[int, object] = {}
    stack = [message]
    while stack:  # every part's parent, without recursing (a hostile mail nests thousands deep)
        part = stack.pop()
        if _nests(part):
            for child in part.iter_parts():
                parents[id(child)] = part
                stack.append(child)
    skipped = {id(body)}
    above = parents.get(id(body))
    while above is not None:
        if above.get_content_type() == "multipart/alternative":
            skipped.add(id(above))
        above = parents.get(id(above))
    found, stack = [], [message]
    while stack:
        part = stack.pop()
        if id(part) in skipped:
            continue
        if _nests(part):
            stack.extend(reversed(list(part.iter_parts())))
        else:
            found.append(part)
    return found


def _file_name(part, number: int) -> tuple[str, str]:
    """The attachment's name for headings and notes (its file name, else "part 2.pdf" by its type)
    and the suffix that picks its reader."""
    import mimetypes

    try:
        given = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - as in `_header`
        given = ""
    name = _clean(re.split(r"[\\/]", given)[-1])
    typed = {"message/rfc822": ".eml", "text/plain": ".txt"}.get(part.get_content_type()) \
        or mimetypes.guess_extension(part.get_content_type()) or ""
    suffix = PurePath(name).suffix.lower() or typed
    return name or f"part {number}{typed}", suffix
