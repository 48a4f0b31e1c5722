"""What part a sentence plays on the page, decided once at index time and stored with it.

An answer quotes sentences, and some sentences are not statements: a question the article asks
itself ("How will we know if Putin is serious?"), a heading or title, a byline or photo credit, a
caption or a legal disclaimer. They often repeat the question's words better than the sentence that answers it,
so they win on similarity; marked here, they still help find the passage but are never quoted as
an answer (`QUOTABLE`).

The rules read the sentence and the line it sits on, nothing else, so they work on any prose:
- question: it ends with "?";
- credit: a byline ("By Jane Doe", "[By ... columnist ...]"), "translated by", "Photo:", a
  comment's author line ("3. Ian Welsh"), or a short line ending in an agency or image credit;
- boilerplate: disclaimers, rights notices, "do not necessarily represent the views of";
- heading: a whole line with no sentence ending, no bullet and no finite verb ("Potholes in the
  road to peace"; "Kiev is either split ..." has a verb and is a statement);
- caption: a one-sentence line directly above a credit line, or a court document's docket line;
- reference: a sentence that only points elsewhere: a legal citation sentence ("See Brief for
  Petitioners 28; supra, at 47–48.", "United States v. Boyd, 991 F. 3d 1077 (CA9 2021).") or a
  manual's cross-reference ("For more information, see Section 25.1.", "… is described in
  Chapter 63."). It helps find its passage but answers nothing.
"""

from __future__ import annotations

import re

QUOTABLE = frozenset({"body"})  # quoted as an answer
UNRANKED = frozenset({"question"})  # does not rank its passage by itself (only through its neighbours)
ROLES = ("body", "question", "heading", "credit", "caption", "boilerplate", "reference")

_CLOSERS = "\"'”’»)]"
_CREDIT_WORDS = (r"reuters|ap|afp|getty(?: images)?|xinhua|tass|epa|handout|wikipedia|shutterstock|screenshot|"
                 r"file photo|photo|photograph|image|illustration|courtesy|pool|archive")
_AUTHOR_LINE = re.compile(r"^\s*\d{1,4}\.\s+\S.{0,60}$")
_CREDIT = re.compile(
    r"^\W*(?i:photo(graph)?|image|picture|illustration|source|original source|credits?|courtesy)\s*:"
    r"|^\W*(?i:by)\s+(the\s+)?[A-Z][\w.'’-]*(\s+[A-Z][\w.'’-]*)*\s*([,\]|]|$)"
    r"|\b(?i:(translated|reporting|editing|written|compiled) by)\b"
    rf"|{_AUTHOR_LINE.pattern}"  # a reader comment's author line: "3. Ian Welsh"
    rf"|(^|[,.;/|]\s*|\s)(?i:{_CREDIT_WORDS})\s*[\])]?\s*$"
)
_BOILERPLATE = re.compile(
    r"(?i)^\W*disclaimer\b|all rights reserved|reproduction is (strictly )?prohibited|"
    r"(views|opinions|viewpoint)\b[^.]{0,80}\bdo(es)? not necessarily (represent|reflect)|views expressed (here|in this)|"
    r"violators will be|unauthori[sz]ed reproduction"
)
# A court document's docket or caption line ("No. 21–908. Argued December 6, 2022—Decided February
# 22, 2023", "Cite as: 598 U. S. 69 (2023)", a filing stamp): it names the case, it states nothing.
_DOCKET = re.compile(r"\bArgued\b[^.]{0,40}\d{4}\s*[—–-]\s*Decided\b|^\W*No\.\s*\d[\d–-]+\.|\bCite as:\s*\d"
                     r"|\bCase\s+\d:\d\d-[a-z]{2}-\d+|\bDocument\s+\d+\s+Filed\s+\d", re.I)
# A citation signal opens the sentence ("See", "See also", "Cf.", "E. g.,", "Id.", "Ibid.") or the
# sentence is only a case citation, or it sends the reader to another part of the document.
_CITATION_SIGNAL = re.compile(
    r"^\W*(?:(?:but|and)\s+)?(?:see(?:\s+also|\s+generally)?(?:,|\s+(?-i:[A-Z§\d“\"])"
    r"|\s+the\s+(?:\w+\s+){0,3}?(?:chapter|section|appendix|part|documentation|manual|discussion|description|reference|"
    r"entry|page|notes?)\b)|cf\.|accord\b|e\.\s?g\.,|id\.|ibid\.)", re.I)
_CASE_CITATION = re.compile(r"\bv\.\s.*?\d+\s+(?:U\.\s?S\.|F\.\s?(?:\d\w*|Supp\.)|S\.\s?Ct\.|L\.\s?Ed\.)"
                            r"|\b(?:supra|infra),?\s+(?:at|n\.|note)\b")
_CROSS_REFERENCE = re.compile(
    r"^\W*(?:for\s+(?:more|further|additional|full|complete)\s+(?:information|details|discussion)\b[^.]{0,80}\bsee\b"
    r"|(?:more|further)\s+information\s+(?:about|on|is)\b.{0,80}\b(?:in|see)\s+(?:chapter|section|appendix|part)\b"
    r"|there\s+is\s+more\s+information\b|refer\s+to\s+(?:chapter|section|appendix|part)\b)"
    r"|^[^.;]{0,120}\b(?:is|are)\s+(?:described|discussed|explained|covered|documented)\s+(?:in\s+(?:more\s+)?detail\s+)?"
    r"in\s+(?:chapter|section|appendix|part)\s+[\dIVX]", re.I)
_FINITE_VERB = re.compile(
    r"(?i)\b(is|are|was|were|am|be|been|has|have|had|do|does|did|will|would|can|could|shall|should|may|might|must|"
    r"says|said|gets|got|goes|went|becomes|became|wants|wanted|needs|needed|makes|made|seems|seemed)\b|n[’']t\b")
_SENTENCE_END = re.compile(r"[.!?…;][" + re.escape(_CLOSERS) + r"]*$")
_BULLET = re.compile(r"^\s*([•·▪‣◦*–—-]|\(?\d{1,3}[.)]|[a-z][.)])\s")
_MAX_HEADING_WORDS = 20


def sentence_role(text: str, start: int, end: int, in_comment: bool = False) -> str:
    """The role of `text[start:end]` (one of `ROLES`). `in_comment`: the sentence is inside a reader
    comment, where lines without a full stop are talk, not headings."""
    sentence = " ".join(text[start:end].split())
    if not sentence:
        return "body"
    line = _line(text, start, end)
    bare = sentence.rstrip(_CLOSERS)
    if bare.endswith("?"):
        return "question"
    whole_line = sentence == line
    short = len(sentence.split()) <= 25
    if _CREDIT.search(sentence) and (short or whole_line):
        return "credit"
    if _BOILERPLATE.search(sentence):
        return "boilerplate"
    if line.count(" ") < 20 and _DOCKET.search(line):  # the count first: a long line is never a docket
        return "caption"
    if _reference(sentence):
        return "reference"
    if whole_line and not in_comment and not _SENTENCE_END.search(sentence) and not _BULLET.match(line) \
            and len(sentence.split()) <= _MAX_HEADING_WORDS and not _FINITE_VERB.search(sentence):
        return "heading"
    following = _next_line(text, end)
    if whole_line and short and not in_comment and _CREDIT.search(following) and not _AUTHOR_LINE.match(following):
        return "caption"
    return "body"


def _reference(sentence: str) -> bool:
    if _CITATION_SIGNAL.match(sentence) or _CROSS_REFERENCE.search(sentence):
        return True
    # Only a citation: "United States v. Boyd, 991 F. 3d 1077, 1079 (CA9 2021)." (no verb of its own)
    return bool(_CASE_CITATION.search(sentence)) and len(sentence.split()) <= 25 and not _FINITE_VERB.search(
        _CASE_CITATION.sub(" ", sentence)) and not re.search(r"\b(held|holds|hold|ruled|found|concluded|explained|"
                                                             r"noted|said|stated|reasoned)\b", sentence)


def _line(text: str, start: int, end: int) -> str:
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return " ".join(text[first:len(text) if last == -1 else last].split())


def _next_line(text: str, end: int) -> str:
    """The next non-empty line after the one holding `end`."""
    position = text.find("\n", end)
    while position != -1:
        following = text.find("\n", position + 1)
        line = text[position + 1:len(text) if following == -1 else following].strip()
        if line:
            return " ".join(line.split())
        position = following
    return ""
