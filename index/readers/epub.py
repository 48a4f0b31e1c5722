"""EPUB: a ZIP of XHTML chapters, read with `zipfile` and the HTML reader's text extraction.

The chapters are read in the order of the book's spine (META-INF/container.xml names the package
file, whose manifest and spine list them), each once. Each chapter is a part named by the book's
navigation (an EPUB 3 nav document, else an EPUB 2 toc.ncx), nested entries under their parents
("Part One › The Storm"), so a citation names the chapter; a heading inside a chapter that the
navigation names starts that entry's part, other headings go under the chapter ("The Storm ›
Aftermath"); a file the navigation does not name continues the chapter before it. XML is parsed
without loading DTDs or resolving entities. A damaged ZIP, a book that unpacks to more than
`max_expansion` times its size (checked before anything is unpacked), a book with no package file
and a DRM-encrypted book each get one line.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, replace
from urllib.parse import unquote

from index.errors import InputError
from index.readers.assemble import PATH_JOINT, Assembly, under
from index.readers.base import DEFAULT_OPTIONS, Heading, Reading, ReadOptions, check_expansion
from index.readers.titles import usable

_CONTAINER = "META-INF/container.xml"
_ENCRYPTION = "META-INF/encryption.xml"
_ENTITY = re.compile(r"&[^\s&;]+;")  # how lxml gives back an entity reference it did not resolve
_CHAPTER_TYPES = ("application/xhtml+xml", "text/html")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError, OSError,
               ValueError)


@dataclass(frozen=True)
class _Package:
    """What the package (.opf) file says: its chapters in reading order, as (path in the ZIP,
    media type), each once, and where its navigation is (EPUB 3 nav, EPUB 2 NCX; "" if none)."""

    spine: tuple[tuple[str, str], ...]
    nav: str
    ncx: str
    title: str | None = None  # the book's dc:title


class EpubReader:
    suffixes = (".epub",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        if not data.startswith(b"PK"):
            raise InputError("not an EPUB book (it is not a ZIP archive)")
        try:
            book = zipfile.ZipFile(io.BytesIO(data))
            unpacked = sum(max(0, info.file_size) for info in book.infolist())
        except _ZIP_ERRORS as exc:
            raise InputError(f"damaged EPUB: {exc or type(exc).__name__}") from None
        with book:
            check_expansion("unpacks to", unpacked, len(data), options)
            package = _package(book)
            _refuse_encrypted(book, package)
            names, notes = _navigation(book, package)
            reading = _chapters(book, package, names, options)
        return replace(reading, notes=(*notes, *reading.notes), title=package.title)


def _member(book: zipfile.ZipFile, name: str) -> bytes | None:
    """A file of the book, None when it has none of that name."""
    try:
        return book.read(name)
    except KeyError:
        return None
    except _ZIP_ERRORS as exc:
        raise InputError(f"damaged EPUB: {name}: {exc or type(exc).__name__}") from None


def _xml(data: bytes, what: str):
    """The root element of an XML file of the book, read without DTDs, entities or the network."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"damaged EPUB: {what} is not well-formed XML ({exc})") from None
    if root is None:
        raise InputError(f"damaged EPUB: {what} is empty")
    return root


def _named(root, name: str):
    """The elements under `root` whose name, without its namespace, is `name`, in document order."""
    return (e for e in root.iter() if isinstance(e.tag, str) and e.tag.rsplit("}", 1)[-1] == name)


def _children(element, *names: str):
    """The children of `element` named one of `names` (without namespace), in order."""
    return (c for c in element if isinstance(c.tag, str) and c.tag.rsplit("}", 1)[-1] in names)


def _attribute(element, name: str) -> str:
    """An attribute by its name without namespace (`epub:type` is `type`)."""
    return next((value for key, value in element.attrib.items() if key.rsplit("}", 1)[-1] == name), "")


def _resolved(base: str, href: str) -> str:
    """`href` (relative to the file `base`, URL-encoded, maybe with a #fragment) as a path in the ZIP."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(href.split("#", 1)[0]))).lstrip("/")


def _package(book: zipfile.ZipFile) -> _Package:
    container = _member(book, _CONTAINER)
    if container is None:
        raise InputError(f"not an EPUB book: the ZIP has no {_CONTAINER}")
    rootfile = next((_attribute(e, "full-path") for e in _named(_xml(container, _CONTAINER), "rootfile")), "")
    opf = _member(book, unquote(rootfile)) if rootfile else None
    if opf is None:
        raise InputError(f"damaged EPUB: the package file its {_CONTAINER} names ({rootfile or 'none'}) is missing")
    root = _xml(opf, rootfile)
    items = {}  # manifest id -> (path, media type, properties)
    for item in _named(root, "item"):
        items[_attribute(item, "id")] = (_resolved(rootfile, _attribute(item, "href")),
                                         _attribute(item, "media-type"), _attribute(item, "properties").split())
    spine, seen, toc = [], set(), ""
    for element in _named(root, "spine"):
        toc = toc or _attribute(element, "toc")
        for ref in _named(element, "itemref"):
            path, media, _ = items.get(_attribute(ref, "idref"), ("", "", []))
            if path and path not in seen:  # each chapter once, however often the spine lists it
                seen.add(path)
                spine.append((path, media))
    if not spine:
        raise InputError("damaged EPUB: its package file lists no chapters (an empty spine)")
    nav = next((path for path, _, properties in items.values() if "nav" in properties), "")
    return _Package(tuple(spine), nav, items.get(toc, ("",))[0], _book_title(root))


def _book_title(package_root) -> str | None:
    """The first dc:title of the package's metadata (EPUB 3 may list several: the main one first)."""
    for metadata in _named(package_root, "metadata"):
        for element in _children(metadata, "title"):
            return usable("".join(element.itertext()))
    return None


def _refuse_encrypted(book: zipfile.ZipFile, package: _Package) -> None:
    """A book whose chapters are encrypted (DRM) reads as noise: refused. Obfuscated fonts are not text."""
    listing = _member(book, _ENCRYPTION)
    if listing is None:
        return
    encrypted = {unquote(_attribute(e, "URI")) for e in _named(_xml(listing, _ENCRYPTION), "CipherReference")}
    if encrypted & {path for path, _ in package.spine}:
        raise InputError("the EPUB is DRM-protected (its chapters are encrypted): only a DRM-free copy can be read")


def _navigation(book: zipfile.ZipFile, package: _Package) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """The chapters' names from the navigation: file -> [(entry's label, its path)], in order; and
    a note when the navigation is damaged (the chapters are then named by their own headings)."""
    entries: list[tuple[str, str, str]] = []  # (file, label, path)
    notes = []
    for where, walk in ((package.nav, _nav_entries), (package.ncx, _ncx_entries)):
        data = _member(book, where) if where else None
        if data is None:
            continue
        try:
            entries = list(walk(_xml(data, where), where))
        except InputError as exc:
            notes.append(f"table of contents not read, chapters named by their headings: {exc}")
        if entries:
            notes = []
            break
    names: dict[str, list[tuple[str, str]]] = {}
    for file, label, path in entries:
        names.setdefault(file, []).append((label, path))
    return names, notes[:1]


def _label(element) -> str:
    """An entry's words; an entity reference, left unresolved, is no part of them."""
    return " ".join(_ENTITY.sub("", "".join(element.itertext())).split()).replace("›", ">")


def _nav_entries(root, where: str, above: str = "", list_element=None):
    """(file, label, path) of an EPUB 3 nav document's table of contents, depth first."""
    if list_element is None:
        navs = list(_named(root, "nav"))
        toc = next((n for n in navs if "toc" in _attribute(n, "type").split()), navs[0] if navs else None)
        list_element = next(_named(toc, "ol"), None) if toc is not None else None
        if list_element is None:
            return
    for item in _children(list_element, "li"):
        link = next(_children(item, "a", "span"), None)
        label = _label(link) if link is not None else ""
        path = under(above, label)
        if label and _attribute(link, "href"):
            yield _resolved(where, _attribute(link, "href")), label, path
        inner = next(_children(item, "ol"), None)
        if inner is not None:
            yield from _nav_entries(root, where, path, inner)


def _ncx_entries(root, where: str, above: str = "", parent=None):
    """(file, label, path) of an EPUB 2 toc.ncx's navMap, depth first."""
    if parent is None:
        parent = next(_named(root, "navMap"), None)
        if parent is None:
            return
    for point in _children(parent, "navPoint"):
        label = next((_label(t) for name in _children(point, "navLabel") for t in _children(name, "text")), "")
        source = next((_attribute(c, "src") for c in _children(point, "content")), "")
        path = under(above, label)
        if label and source:
            yield _resolved(where, source), label, path
        yield from _ncx_entries(root, where, path, point)


def _chapters(book: zipfile.ZipFile, package: _Package, names: dict[str, list[tuple[str, str]]],
              options: ReadOptions) -> Reading:
    from index.decode import decode
    from index.html_text import html_to_text

    watch, assembly = options.stopwatch(), Assembly("epub")
    chapter, unread = "", []
    for number, (path, media) in enumerate(package.spine, 1):
        watch.check(f"chapter {number}")
        data = _member(book, path) if media in _CHAPTER_TYPES else None
        if data is None:
            unread.append(posixpath.basename(path) + ("" if media in _CHAPTER_TYPES else f" ({media or 'no type'})"))
            continue
        try:
            page = html_to_text(decode(data)[0], titled=False)
        except InputError as exc:
            assembly.notes.append(f"{posixpath.basename(path)}: not indexed: {exc}")
            continue
        entries = names.get(path, [])
        chapter = entries[0][1] if entries else chapter  # unnamed: it continues the chapter before
        headings, chapter = _chapter_headings(page.headings, chapter, entries)
        assembly.add(Reading(page.text, "", blocks=page.blocks), headings=headings)
    if unread:
        assembly.notes.append(f"{len(unread)} spine item{'s' * (len(unread) != 1)} not read (not XHTML, or missing "
                              f"from the ZIP): {', '.join(unread[:12])}{', ...' if len(unread) > 12 else ''}")
    return assembly.reading()


def _key(label: str) -> str:
    return re.sub(r"\W+", " ", label).strip().casefold()


def _chapter_headings(inner: tuple[Heading, ...], chapter: str,
                      entries: list[tuple[str, str]]) -> tuple[list[Heading], str]:
    """A chapter file's headings: the chapter's name at its start (a heading opening a file the
    navigation names is the chapter's own title, however worded); a heading the navigation names
    (in this file) starts that entry's part; the others go under the part they are in. And the
    navigation's entry the file ends in, which a file it does not name continues."""
    named = {_key(label): path for label, path in entries}
    opening = inner[0].path.split(PATH_JOINT)[0] if entries and inner and inner[0].start == 0 else None
    out = [Heading(0, chapter)] if chapter else []
    current = chapter
    for heading in inner:
        parts = heading.path.split(PATH_JOINT)
        parts = parts[1:] if parts[0] == opening else parts
        known = [n for n, part in enumerate(parts) if _key(part) in named]
        if known:
            current = named[_key(parts[known[-1]])]
            path = under(current, PATH_JOINT.join(parts[known[-1] + 1:]))
        else:
            path = under(current, PATH_JOINT.join(parts))
        if out and out[-1].start == heading.start:
            out.pop()
        out.append(Heading(heading.start, path))
    return out, current
