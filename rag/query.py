"""One reading of a question, shared by retrieval, sentence scoring, abstention, follow-ups and
citation checks: its terms, the names and numbers it mentions, its form, and the kind of answer it
expects.

Before this module each of those kept its own word lists and they disagreed ("when" was a date in
one and a number in another). Everything here is a few cheap patterns over English questions; no
model is involved, so it is fast and its mistakes can be read off the rules.

Forms: `yesno` ("Did ...?", "Is ...?"), `why` (a reason: "why", "what caused"), `how` (a manner:
"How did ...?"), `definition` ("Who is X?", "What is X?", "What does X mean?") and `wh` (the
rest). Expected answers: `person` ("who", "whose", "what is the name of"), `place` ("where",
"which city"), `number` ("how many", "how much", "how long"), `date` ("when", "what year").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.lexical import terms
from rag import aliases

WORD = re.compile(r"[\w’'-]+")
NUMBER_WORDS = dict(zip(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred".split(),
    [*map(str, range(21)), "30", "40", "50", "60", "70", "80", "90", "100"],
))
_QUANTITY_WORDS = "hundreds? thousands? millions? billions? dozens? half once twice several first second third " \
                  "fourth fifth sixth seventh eighth ninth tenth".split()
MONTHS = ("january february march april may june july august september october november december "
          "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_DAYS = ("monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight weekend "
         "spring summer autumn winter morning afternoon evening night midnight noon dawn").split()
_NUMBER = re.compile(r"\b(\d[\d,.]*(?:st|nd|rd|th|d|s)?|" + "|".join([*NUMBER_WORDS, *_QUANTITY_WORDS]) + r")\b", re.I)
_DATE = re.compile(
    r"\b((1[89]|20)\d\d(s)?|\d{1,2}(st|nd|rd|th)|\d{1,2}:\d\d|" + "|".join(MONTHS + _DAYS) +
    r"|(last|next|this|that|the following|the previous) (week|month|year|spring|summer|autumn|fall|winter|day|"
    r"morning|evening|night)|(early|mid|late)[ -](19|20)\d\d|(weeks?|months?|years?|days?) (ago|later|earlier|before|after))\b",
    re.I)
_YEAR = re.compile(r"^(1[89]|20)\d\d(-(1[89]|20)?\d\d)?s?$")

# Capitalised words that start questions or are otherwise not names.
_NOT_NAMES = frozenset("""
    a an and are as at be but by can could did do does for from had has have how i if in is it
    its may might of on or should than that the their there these they this those to was were
    what when where which who whom whose why will with would according after before between
    during since about please tell give list name describe explain compare summarise summarize
    yes no ok okay so then also any more really
""".split())
# Capitalised function words, which open sentences and titles without naming anything.
FUNCTION_WORDS = frozenset(
    "The A An In On At With And But If When While This That These Those It He She They We I You As For Of To So "
    "Or Not No Yes Then There Here Its His Her Their Our My Your From By After Before Since Until Also Why How What "
    "Who Where Which Whose Is Are Was Were Do Does Did Has Have Had Can Could Will Would Should May Might Must".split())

_AUXILIARY = r"(is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|must|isn['’]t|" \
             r"aren['’]t|wasn['’]t|weren['’]t|don['’]t|doesn['’]t|didn['’]t|hasn['’]t|haven['’]t|can['’]t|won['’]t|wouldn['’]t)"
_LEAD = r"^\W*(?:(?:so|and|but|ok(?:ay)?|now|then|also|please)\W+)*"
_YESNO = re.compile(_LEAD + _AUXILIARY + r"\b", re.I)
_WHY = re.compile(_LEAD + r"(why\b|how come\b|what (caused|causes|led to|leads to|made|makes|drove|drives|prompted|"
                  r"explains)\b|for what reason\b|what (is|was|were|are) the (reasons?|causes?|motives?|purpose)\b)", re.I)
_HOW = re.compile(_LEAD + r"how\b(?!\s+(many|much|long|old|far|often|frequently|regularly|large|big|soon|quickly|fast|come)\b)", re.I)
_DEFINITION = re.compile(
    _LEAD + r"(?:who|what)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<x>[^?]{1,60}?)\s*\??\s*$"
    r"|" + _LEAD + r"what\s+(?:does|did|do)\s+[\w’'. -]{1,40}?\s+mean\s+by\s+(?:an?\s+|the\s+)?(?P<w>[^?]{1,60}?)\s*\??\s*$"
    r"|" + _LEAD + r"what\s+(?:does|did|do)\s+(?P<y>[^?]{1,60}?)\s+(?:mean|stand\s+for|refer\s+to)\b"
    r"|" + _LEAD + r"what\s+is\s+meant\s+by\s+(?:an?\s+|the\s+)?(?P<z>[^?]{1,60}?)\s*\??\s*$",
    re.I)
# "What is a domain in PostgreSQL?": where the term is used, not part of it.
_WHERE_DEFINED = re.compile(r"\s+(?i:in|within|under|for)\s+(?i:the\s+)?[A-Z][\w’'-]*(\s+[A-Z][\w’'-]*){0,2}$")
# "..., according to the author?", "... in Melvin's view?": who says it, not what is asked.
_ATTRIBUTION = re.compile(r"[,;]?\s*(?:according to|in the view of|as seen by|per)\s+[^,?]{1,40}\??\s*$"
                          r"|[,;]\s*as\s+[^,?]{1,40}\??\s*$"
                          r"|[,;]?\s*(?:in|from)\s+(?:the\s+)?[\w’' -]{1,30}?(?:view|opinion|reading|eyes|words|account)"
                          r"\??\s*$", re.I)
_PERSON = re.compile(_LEAD + r"(who|whom|whose)\b|\b(and|or) who\b|\bwhat\s+(is|was|are|were)\s+(the\s+)?names?\s+of\b"
                     r"|^\W*(which|what)\s+(?:(?!(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would)\b)"
                     r"[\w’'-]+\s+){0,2}?(person|people|man|woman|officials?|ministers?|"
                     r"leaders?|president|politicians?|analysts?|experts?|commenters?|readers?|author|journalists?|"
                     r"columnists?|negotiators?|envoys?|diplomats?|generals?|commanders?|spokesman|spokeswoman)\b", re.I)
_PLACE = re.compile(_LEAD + r"(where\b|(in |at |to )?(which|what) (cit(y|ies)|countr(y|ies)|towns?|places?|venues?|"
                    r"regions?|capital|location)\b)", re.I)
_COUNT = re.compile(_LEAD + r"(how (many|much|long|old|far|often|large|big)|what (number|percentage|share|proportion|"
                    r"amount))\b", re.I)
_FREQUENCY_Q = re.compile(_LEAD + r"(how (often|frequently|regularly)|how many times|at what (interval|frequency)|"
                          r"with what frequency|what (is|was) the frequency)\b", re.I)
_DURATION_Q = re.compile(_LEAD + r"(for )?how long\b(?! ago)", re.I)
_AGE_Q = re.compile(r"\bhow old\b|\b(what|which) age\b|\bage (of|was|is|were|did)\b|['’]s age\b|\bwhat (was|is) (his|her|their) age\b",
                    re.I)
_MONEY_Q = re.compile(r"\b(price|prices|cost|costs|salary|salaries|wage|wages|fee|fees|paid|pay|earn|earned|earns|"
                      r"income|budget|charge|charged|worth|spend|spent|fine|fined)\b", re.I)
_OCCUPATION_Q = re.compile(r"\b(profession|occupation|job|jobs|career|line of work|for a living|by trade)\b", re.I)
_ORGANISATION_Q = re.compile(
    _LEAD + r"(which|what|name the) (\w+\s+){0,2}?(law firm|firm|company|companies|hospital|hospitals|bank|banks|agency|"
    r"university|college|school|newspaper|magazine|organi[sz]ation|employer|manufacturer|airline|publisher|insurer|"
    r"charity|clinic|church|party|union)\b", re.I)
_TOTAL_Q = re.compile(r"\b(altogether|in total|in all|combined|all told|total|collectively|overall)\b", re.I)
_HOWTO_Q = re.compile(
    _LEAD + r"(how (do|can|should|would|could|might|must|may) (i|we|you|one|a user|users|someone|people|an? \w+)\b|"
    r"how to\b|what (command|commands|option|options|setting|settings|parameter|function|tool|clause|syntax|statement|"
    r"steps?)\b|what (do|should|must|can) (i|we|you|one)\b|what (must|should) (an? |the )?\w+ do\b|is there (a|an|any) "
    r"(way|command|option|setting|tool|function)\b)", re.I)
# The noun a "which/what X" question asks for ("Which law firm ...", "What was Kate's profession ...").
_ASKS_FOR = re.compile(
    _LEAD + r"(?:which|what)\s+(?:(?:is|was|are|were)\s+(?:the\s+|a\s+|an\s+)?)?(?:(?:[A-Z][\w’'-]*\s+){0,3}[\w’'-]+['’]s\s+)?"
    r"(?P<x>(?:(?!(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|of|in|on|for|to|at|by|with|"
    r"from|that|which|who)\b)[a-z][\w-]*\s*){1,3})", re.I)
_GENERIC = frozenset("""kind kinds type types sort sorts way ways thing things part parts number amount one ones
    reason reasons happened happens point points role effect effects difference differences purpose""".split())
_WHEN = re.compile(_LEAD + r"(when\b(?!\s+(can|could|may|might|must|should|would)\b)|"
                   r"(in |on )?(what|which) (years?|dates?|days?|months?|times?|weeks?)\b(?!\s+(zones?|limits?|stamps?|"
                   r"outs?|frames?|periods?|intervals?|series)\b))", re.I)
_BROAD = re.compile(r"\b(articles|sources|documents|writers|authors|pieces|posts|texts|compare|comparing|contrast|"
                    r"differ|differs|different|both|each|across|all of them|two of the)\b", re.I)
_PRONOUNS = frozenset("he she it they them him her his hers its their theirs this that these those".split())


@dataclass(frozen=True)
class Query:
    """What a question asks, read once.

    `terms`: distinct BM25 terms, in order. `names`: capitalised words and numbers the answer must
    be about, as written (the first word and years excepted). `words`: the question's words, folded,
    which never count as its answer. `form` and `expects` as the module docstring says; `focus` is
    the X of "who is X?" / "what is X?" (and the counted thing of "how many X"). `broad`: it
    compares or surveys documents ("What do the articles say ...", "Compare ...") or asks two
    questions at once.
    """

    text: str
    terms: tuple[str, ...]
    names: tuple[str, ...]
    words: frozenset[str]
    form: str = "wh"
    expects: str | None = None
    focus: str = ""
    broad: bool = False  # asks across documents or asks two things: no single sentence must hold it all
    asks_for: str = ""  # the X of "which X ...?" / "what was Kate's X?": what the answer must be about
    total: bool = False  # "how many ... altogether": a total

    @functools.cached_property
    def focus_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(terms(self.focus)))

    def answer_words(self, sentence: str) -> frozenset[str]:
        """Words of `sentence` that could be the expected answer and that the question does not
        already contain (empty when the question expects no particular kind of answer)."""
        if self.expects is None:
            return frozenset()
        return new_answers(self.expects, candidates(self.expects, sentence), self.words)

    def holds_answer(self, sentence: str) -> bool:
        return bool(self.answer_words(sentence))


@functools.lru_cache(maxsize=1024)
def analyse(question: str) -> Query:
    """Read `question` once; see `Query`. Cached: retrieval, scoring and abstention all ask."""
    text = " ".join(question.split())
    form, focus = _form(text)
    expects = _expects(text, form)
    counted = re.match(_LEAD + r"how\s+(many|much)\s+", text, re.I)
    measured = re.match(_LEAD + r"how\s+(large|big|long|tall|wide|heavy|high|deep|far|fast)\s+(is|are|was|were|can|could|"
                        r"should|will|would|does|do)\s+(?:(?:the|a|an|each|every|one|your|my|our|their|its)\s+)?", text, re.I)
    if expects == "number" and (counted or measured):
        # "how many defense witnesses", "how large is each WAL segment file": a number next to them answers it
        focus = " ".join(_noun_phrase(WORD.findall(text[(counted or measured).end():])))
    return Query(
        text=text, terms=tuple(dict.fromkeys(terms(text))), names=tuple(key_terms(text)),
        words=frozenset(fold(w) for w in WORD.findall(text)), form=form, expects=expects, focus=focus,
        broad=text.count("?") > 1 or bool(_BROAD.search(text)), asks_for=_asks_for(text, form),
        total=expects == "number" and bool(_TOTAL_Q.search(text)),
    )


_NOT_NOUNS = frozenset("""is are was were do does did has have had can could will would should shall may might must
    be been being of in on for to at by with from that which who whom whose the a an and or per each every before
    after during about into over under between among against since until than as like near when while""".split())


def _noun_phrase(words: list[str]) -> list[str]:
    """The words of a question up to its verb: "defense witnesses testified ..." gives the first two."""
    found = []
    for word in words[:4]:
        if word.lower() in _NOT_NOUNS or (found and word.lower().endswith(("ed", "ly")) and len(word) > 4):
            break
        found.append(word)
    return found


def _asks_for(text: str, form: str) -> str:
    """The thing a "which X" / "what (was NAME's) X" question asks for, when it names one."""
    if form in ("definition", "why", "yesno"):
        return ""
    match = _ASKS_FOR.match(text)
    if not match:
        return ""
    phrase = _noun_phrase(match.group("x").split())
    words = [w for w in phrase if w.lower() not in _GENERIC]
    return " ".join(words) if words and len(words) == len(phrase) else ""


def _form(text: str) -> tuple[str, str]:
    if _WHY.match(text):
        return "why", ""
    definition = _DEFINITION.match(_ATTRIBUTION.sub("?", text))
    if definition:
        subject = next(g for g in definition.groups() if g)
        subject = _WHERE_DEFINED.sub("", subject)  # "a domain in PostgreSQL": the domain
        subject = re.sub(r"\s*\([^)]*\)", "", subject) or subject  # "a WITH query (common table expression)"
        words = WORD.findall(subject)
        # "What is Russia's BATNA?" and "Who is Donald Jensen?" define; "What was the outcome of the
        # talks in Istanbul last week?" is a question about something else.
        asks_for = words[0].lower() in ("name", "names", "number", "date", "year", "day", "time", "place", "amount")
        attribute = any(p.search(subject) for p in (_MONEY_Q, _OCCUPATION_Q, _AGE_Q))  # "What was Kate's profession?"
        if 1 <= len(words) <= 5 and not asks_for and not attribute and not any(w.lower() in _PRONOUNS for w in words):
            return "definition", subject.strip(" \"'“”‘’")
    if _HOWTO_Q.match(text):
        return "howto", ""
    if _HOW.match(text):
        return "how", ""
    if _YESNO.match(text):
        return "yesno", ""
    return "wh", ""


def _expects(text: str, form: str) -> str | None:
    if form in ("why", "how", "howto", "yesno"):
        return None
    if form == "definition":
        return None  # a description, not a name: "Who is Medinsky?" is answered by what he is
    for kind, pattern in (("frequency", _FREQUENCY_Q), ("duration", _DURATION_Q), ("age", _AGE_Q),
                          ("organisation", _ORGANISATION_Q), ("person", _PERSON), ("place", _PLACE),
                          ("occupation", _OCCUPATION_Q)):
        if pattern.search(text):
            return kind
    if re.match(_LEAD + r"how much\b", text, re.I) or (_MONEY_Q.search(text) and re.match(_LEAD + r"(what|which)\b", text, re.I)):
        return "money" if _MONEY_Q.search(text) else "number"
    for kind, pattern in (("number", _COUNT), ("date", _WHEN)):
        if pattern.search(text):
            return kind
    return None


def key_terms(question: str) -> list[str]:
    """Names, places and numbers in the question, as written: the words an answer must be about.

    The first word is skipped (a capital there says nothing), and so are years: articles rarely
    restate the year ("on Tuesday"), so a year the corpus lacks is context, not a missing fact.
    """
    found: list[str] = []
    for index, match in enumerate(WORD.finditer(question)):
        word = re.sub(r"[’']s$", "", match.group()).strip("’'-")
        if not word or _YEAR.match(word):
            continue
        is_number = any(ch.isdigit() for ch in word)
        is_name = index > 0 and word[0].isupper() and word.lower() not in _NOT_NAMES and len(word) > 1
        is_name = is_name or ("_" in word.strip("_") and len(word) > 3)  # an identifier: pg_stat_statements
        if (is_number or is_name) and word not in found:
            found.append(word)
    return found


# Two or more capitalised words in a row ("Vladimir Medinsky", "Russian Federation Council").
_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|de|von|van|bin|al))*\s+[A-Z][\w'’-]+")
# Titles before a name, not names themselves ("Mr. Bittner": the name is Bittner).
_TITLES = frozenset("Mr Mrs Ms Miss Mx Dr Prof Sir Dame Lord Lady Rev Fr Sr Jr Hon Gen Col Capt Lt Sgt Adm Gov Sen "
                    "Rep Amb Justice Judge Chief President Minister Secretary Chancellor Senator Governor Mayor "
                    "Petitioner Respondent Plaintiff Defendant Plaintiffs Defendants".split())
# A capitalised run with one of these words names an institution, a law or a place, not a person
# ("Bank Secrecy Act", "Federal Government", "Court of Appeals", "Fifth Circuit").
_INSTITUTION = frozenset("""Act Acts Code Rule Rules Amendment Constitution Statute Regulation Regulations Treaty
    Government Court Courts Circuit Congress Senate House Parliament Assembly Cabinet Department Ministry Agency
    Administration Commission Committee Council Board Bureau Office Service Services Authority Institute Institution
    Center Centre Foundation Fund Bank Company Corporation Corp Inc Ltd LLC LLP Group Association Society Union
    University College School Hospital Clinic Church Party Army Navy Force Forces Police Republic Kingdom Federation
    State States County City Street Road Avenue Square Station Airport Port River Sea Ocean Mountains Island Islands
    Energy Oil Gas News Times Post Journal Review Press Network Project Program Programme Initiative Plan Report
    Form Forms Federal National International""".split())
# An abbreviation in capitals ("FBARs", "NATO"): an organisation or a thing, not a person.
_ACRONYM = re.compile(r"[A-Z]{2,}s?\b")
# A capitalised word that does not open a sentence.
_PROPER = re.compile(r"(?<![.!?:\"“]\s)(?<!^)\b[A-Z][a-z]+")


# "held in Belarus and Istanbul", "at Quillby": a capitalised word after a preposition of place is a
# place, not a person's surname.
_LOCATIVE = re.compile(r"\b(?:in|at|near|outside|inside|across|throughout)\s+(?:[A-Z][\w’'-]*,?\s+(?:and|or)\s+)?$")
# Where a program keeps something: a directory or file path, a file name, a catalog or setting name.
_LOCATION = re.compile(r"(?<![\w/])(?:(?=[\w.$~/-]*[A-Za-z])(?:[$~.]?/[\w.$-]+|[$\w.-]+/[\w.$-]+/)[\w.$/-]*"
                       r"|[\w-]+\.(?:conf|cfg|ini|json|ya?ml|toml|log|txt|csv|db|sqlite|xml|html?|sh|py|so|dll|exe)\b"
                       r"|[a-z][a-z0-9]*_[a-z0-9_]+)")


def candidates(kind: str, sentence: str) -> frozenset[str]:
    """What in `sentence` could answer a `kind` question, folded: whole names for `person` ("vladimir
    medinsky"), capitalised words inside the sentence for `place`, numbers for `number`, dates and
    times for `date`. They do not depend on the question, so callers may cache them per sentence."""
    if kind == "person":
        names = list(_NAME.finditer(sentence))
        found = [" ".join(words) for match in names
                 if (words := _named_words(match.group())) and not aliases.is_place(" ".join(words))
                 and not _INSTITUTION.intersection(words)]
        found += [m.group() for m in _PROPER.finditer(sentence)  # a surname alone: "Zelensky"
                  if m.group() not in FUNCTION_WORDS and not aliases.is_place(m.group())
                  and not any(n.start() <= m.start() < n.end() for n in names)
                  and not _ACRONYM.match(sentence, m.start()) and m.group() not in _TITLES
                  and not _LOCATIVE.search(sentence, 0, m.start())]
    elif kind == "place":
        found = [m.group() for m in _PROPER.finditer(sentence) if m.group() not in FUNCTION_WORDS]
        found += [m.group() for m in _LOCATION.finditer(sentence)]  # a manual's places: pg_wal, /etc/x, a.conf
    elif kind == "date":
        found = [m.group() for m in _DATE.finditer(sentence)]
    elif kind in _REALISED:
        found = [m.group() for m in _REALISED[kind].finditer(sentence)]
    elif kind == "organisation":  # a name: capitalised words inside the sentence, or a firm's suffix
        found = [m.group() for m in _PROPER.finditer(sentence) if m.group() not in FUNCTION_WORDS]
        found += [m.group() for m in re.finditer(r"\b[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)*\s+(?:LLP|LLC|Inc|Ltd|PC|P\.C\.)\b",
                                                 sentence)]
    else:
        found = [m.group() for m in _NUMBER.finditer(sentence)] + [m.group() for m in _DATE.finditer(sentence)
                                                                   if any(ch.isdigit() for ch in m.group())]
    return frozenset(fold(word) for word in found)


_UNIT = r"(?:seconds?|minutes?|hours?|days?|weeks?|fortnights?|months?|years?|decades?|centuries|nights?|terms?|semesters?)"
_COUNTED = r"(?:\d[\d,.]*|a|an|" + "|".join(NUMBER_WORDS) + r"|several|few|many|a few|a couple of)"
_REALISED = {
    "frequency": re.compile(
        rf"\b(every|each)\s+(other\s+|{_COUNTED}\s+)?(\w+\s+)?{_UNIT}\b|\b(once|twice|thrice|{_COUNTED}\s+times)\s+"
        rf"(a|an|per|each|every)\s+\w+|\b(daily|weekly|fortnightly|monthly|quarterly|annually|yearly|hourly|nightly|"
        rf"biweekly|biannually)\b|\bper\s+{_UNIT}\b|\b(once|twice)\b|\b{_COUNTED}\s+times\b|\bevery\s+\w+\s+{_UNIT}",
        re.I),
    "duration": re.compile(
        rf"\b{_COUNTED}([\s-]+\w+)?[\s-]+{_UNIT}\b|\b(for|over|within|after|before|until|till|up to|at least|at most)\s+"
        rf"(about\s+|almost\s+|nearly\s+|some\s+)?{_COUNTED}\s+{_UNIT}|\b(longer|shorter|quicker|faster|slower|"
        rf"indefinitely|permanently|forever|overnight|immediately|instantly)\b", re.I),
    "age": re.compile(r"\b(\d{1,3}|\w+-\w+|\w+)[\s-]years?[\s-]old\b|\baged?\s+\d{1,3}\b|\bage\s+(of\s+)?\d{1,3}\b|"
                      r"\b(teenager|infant|toddler|octogenarian|septuagenarian|nonagenarian|minor)\b", re.I),
    "money": re.compile(r"[$€£¥]\s?\d[\d,.]*(\s?(million|billion|thousand|bn|m|k))?|\b\d[\d,.]*\s?(million|billion)?\s?"
                        r"(dollars|euros|pounds|cents|usd|eur|gbp)\b", re.I),
    "occupation": re.compile(r"\b(worked|works|working|work|employed|served|serves|trained|hired|job|jobs|career|"
                             r"profession|occupation)\s+(as|at|was|is|in)\b|\bby (trade|profession)\b|"
                             r"\b(was|is|became|become|as) (an?|the) [\w-]+(er|or|ist|ian|ant|ent|man|woman|nurse|"
                             r"doctor|agent|officer|clerk)\b", re.I),
}


def new_answers(kind: str, found: frozenset[str], question_words: frozenset[str]) -> frozenset[str]:
    """The candidates the question does not already contain. A name counts only when none of its
    words is in the question: "Vladimir Medinsky" does not answer "Who called Medinsky ...?"."""
    if kind == "person":  # most of the name is new: "Foreign Minister Lavrov" answers "which minister"
        return frozenset(name for name in found if len(set(name.split()) - question_words) > len(name.split()) / 2)
    return found - question_words


def counts(quote: str, focus: Sequence[str]) -> bool:
    """A number within three words before a focus term (stems: "five rounds", "16 defense
    witnesses"), or within four after it ("the plaintiffs ... are seventeen", "accounts, 272 in all")."""
    words = WORD.findall(quote)
    stems = [terms(w)[:1] for w in words]
    for i, stem in enumerate(stems):
        if not focus or (stem and stem[0] in focus):
            window = words[max(0, i - 3):i + 5] if focus else words
            if any(has_number(w) for w in window):
                return True
    return False


def has_number(text: str) -> bool:
    return bool(_NUMBER.search(text))


def _named_words(name: str) -> list[str]:
    """The words of a capitalised run that name something: at least two besides function words."""
    words = [w for w in name.split() if w not in FUNCTION_WORDS]
    return words if len(words) >= 2 else []


def fold(word: str) -> str:
    return re.sub(r"['’]s$", "", word).casefold()
