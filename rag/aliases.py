"""Names that stand for one another in news prose: a country, its people, its capital and its seat
of government ("Moscow wants", "the Kremlin said", "Russian demands" all mean Russia).

A question says "What does Kyiv see as ..." where the text says "Ukraine has concluded ...":
without this, lexical matching misses the passage and abstention even reports that the documents
"never mention Kyiv". The table is general world knowledge (countries and the blocs that appear in
international news), not anything learned from a corpus; each group's terms match each other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from index.lexical import terms

_GROUPS = """
Russia, Russian, Russians, Moscow, Kremlin
Ukraine, Ukrainian, Ukrainians, Kyiv, Kiev
America, American, Americans, Washington, USA
Britain, British, London, UK
China, Chinese, Beijing
Iran, Iranian, Iranians, Tehran
France, French, Paris, Elysee, Élysée
Germany, German, Germans, Berlin
Turkey, Turkish, Türkiye, Ankara
Israel, Israeli, Israelis, Jerusalem
Belarus, Belarusian, Minsk
Poland, Polish, Warsaw
EU, Brussels
Japan, Japanese, Tokyo
India, Indian, Delhi
Syria, Syrian, Damascus
Saudi, Saudis, Riyadh
Emirates, Emirati, UAE, Dhabi
Qatar, Qatari, Doha
Egypt, Egyptian, Cairo
Italy, Italian, Rome
Spain, Spanish, Madrid
Canada, Canadian, Ottawa
Australia, Australian, Canberra
Switzerland, Swiss, Bern
Austria, Austrian, Vienna
Hungary, Hungarian, Budapest
Finland, Finnish, Helsinki
Estonia, Estonian, Tallinn
Sweden, Swedish, Stockholm
Norway, Norwegian, Oslo
Pakistan, Pakistani, Islamabad
Afghanistan, Afghan, Kabul
Iraq, Iraqi, Baghdad
Taiwan, Taiwanese, Taipei
Vatican, Pope
"""


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    """stem -> every stem of its group (built on first use: the stemmer loads lazily)."""
    table: dict[str, frozenset[str]] = {}
    for line in filter(None, (ln.strip() for ln in _GROUPS.splitlines())):
        names = [name.strip() for name in line.split(",")]
        stems = frozenset(stem for name in names for stem in terms(name))
        for stem in stems:
            table[stem] = table.get(stem, frozenset()) | stems
    return table


# Names of several words that name a country, bloc or region, not a person ("United States").
_PLACES = frozenset({
    "united states", "united kingdom", "european union", "north korea", "south korea", "saudi arabia",
    "new zealand", "white house", "downing street", "abu dhabi", "new delhi", "holy see", "global south",
    "far east", "middle east", "central asia", "eastern europe", "western europe", "black sea",
})


def is_place(name: str) -> bool:
    """A country, its people or its capital ("Ukrainian", "Moscow", "United States"), or a country or
    state of the world's (ISO 3166: "Romania", "Arizona", "New South Wales"): not a person."""
    folded = " ".join(name.lower().split())
    if folded in _PLACES or folded in _world():
        return True
    return len(name.split()) == 1 and any(stem in _table() for stem in terms(name))


# The top-level divisions of the countries whose courts and press most documents come from; not
# counties or boroughs, whose names are often surnames ("Kent").
_DIVISION_COUNTRIES = ("US", "CA", "AU", "GB", "IN")
_DIVISION_TYPES = frozenset({"State", "Province", "Territory", "Country", "District", "Outlying area", "Union territory"})


@functools.lru_cache(maxsize=1)
def _world() -> frozenset[str]:
    """Country names (common, short and official) and the states and provinces above, folded."""
    import pycountry

    names = {getattr(c, field).lower() for c in pycountry.countries
             for field in ("name", "common_name", "official_name") if getattr(c, field, None)}
    names |= {d.name.lower() for code in _DIVISION_COUNTRIES for d in pycountry.subdivisions.get(country_code=code)
              if d.type in _DIVISION_TYPES}
    return frozenset(names)


# Names of several words for a group above, matched as phrases (their words alone mean other things).
_PHRASES = {"america": ("united states", "u. s.", "u.s."), "britain": ("united kingdom", "u.k.", "england"),
            "eu": ("european union",), "emirates": ("united arab emirates",), "saudi": ("saudi arabia",)}


def phrases(stem: str) -> tuple[str, ...]:
    """Lower-case phrases that also name what `stem` names ("united states" for "American")."""
    return tuple(p for other in alternatives(stem) for p in _PHRASES.get(other, ()))


def alternatives(stem: str) -> frozenset[str]:
    """`stem` and the stems that stand for the same thing (just `stem` when it names nothing)."""
    return _table().get(stem, frozenset((stem,)))


def present(stem: str, found: Iterable[str] | frozenset[str]) -> bool:
    """Whether `stem`, or a name that stands for it, is among `found`."""
    found = found if isinstance(found, (set, frozenset)) else set(found)
    return stem in found or bool(alternatives(stem) & found)


def expand(text: str) -> str:
    """`text` with the other names of every name it uses appended, for lexical search."""
    extra = [s for t in dict.fromkeys(terms(text)) for s in sorted(alternatives(t)) if s != t]
    return f"{text} {' '.join(dict.fromkeys(extra))}" if extra else text
