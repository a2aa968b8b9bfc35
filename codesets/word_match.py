"""Whether a word of a text is the word a query asked for: one test for every matcher.

The Tabular's word index (:mod:`codesets.search`), the suggestion ranking's word test
(:meth:`codesets.suggest._Query.finds`) and the coders' index (:mod:`codesets.coders_index`)
all ask it. A query word is matched one of two ways:

* **A complete word** (one the vocabulary knows: the Tabular's words, the coders' index's,
  the suggestion tables' and plain English) matches **the same word**: itself, its
  inflections and the derived forms the Tabular writes for the same thing (see
  :data:`_TAILS`), never a longer, different word that merely starts with it. "cut" is not
  "cutaneous", "tetanus" is not "tetany" (two nouns of one root: two conditions, A35 and
  R29.0), "chancre" is not "chancroid", "numb" is not "number", "pin" is not "pineal", "cyst"
  is not "cystitis", "head" is not "headache"; "bean" is "beans", "fracture" is "fractured",
  "diabetes" is "diabetic", "allergy" is "allergic", "depression" is "depressive", "pain" is
  "painful", "artery" is "arterial".
* **A fragment** (no vocabulary word: a coder typing "hypothyr", "pneumon", "diab") still
  matches every word it starts, so the workbench's search as you type keeps working. A
  fragment of three letters or fewer ("ra", "pe", "hyp") matches only itself and its plural:
  it starts too many words to mean any one (a short abbreviation is spelt out before this,
  from the abbreviation tables).

Two words are the same when they are one base with two endings of :data:`_TAILS` that make
the same word: an inflection with anything; a noun's own ending ("-us", "-y", "-e", "-ia")
with a derived one ("-al", "-ic", "-ive", "-ion", "-ity"); two derived ones; but never two
different noun endings (tetan-us, tetan-y) nor a noun ending added to a whole other word
(cut, cut-is), "-y" aside ("itch", "itchy"). The base must keep four letters (three before
an inflection: "ear", "ears"), so a short word's letters are never read as an ending.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Final, Self

__all__ = [
    "SHORT",
    "Start",
    "Vocabulary",
    "Whole",
    "finds",
    "in_use",
    "reach",
    "same",
    "same_word",
    "short_forms",
    "use",
    "words_matching",
]

_INFLECTION: Final = "inflection"
_OWN: Final = "own"
_DERIVED: Final = "derived"
_WORD: Final = "word"
_AGENT: Final = "agent"
"""The one who does it ("smoker" for "smokes", "smoking", "smoke"): the same word only beside
an inflection or a silent "e", never on a whole other word ("numb", "number"; "moth", "mother")."""

_INFLECTIONS: Final = ("s", "es", "ies", "ed", "d", "ing", "i", "ae")
"""Plural, past and present participle (and the Latin plurals the Tabular writes: bronchi,
vertebrae): another form of the same word."""
_OWN_ENDINGS: Final = ("e", "y", "us", "um", "ium", "ia", "is", "ix", "a")
"""A noun's own ending (Latin and Greek ones mostly): two nouns of one base with two
different ones are two words (tetanus and tetany, calculus and calculi are one noun only by
the plural, which is an inflection)."""
_DERIVED_ENDINGS: Final = (
    "al", "ial", "ical", "ally", "ic", "tic", "atic", "ous", "ious", "tous", "ive", "ative",
    "ary", "ian", "ful", "ity", "ities", "ation", "ations", "ion", "ions", "ness", "iness",
    "ment", "ments", "atory", "ory", "ics", "ine", "ate", "ated", "ating", "ates", "ure",
    "ism", "age", "ar",
)  # fmt: skip
"""The adjective and abstract-noun forms the Tabular writes for the same thing: diabetes,
diabetic; hemorrhage, hemorrhagic; asthma, asthmatic; edema, edematous; depression,
depressive; obese, obesity; ulcer, ulceration; numb, numbness; pain, painful; inflammation,
inflammatory. "-itis", "-osis", "-oid", "-er" and "-less" are not among them: they make
another condition or its opposite (cystitis, polyposis, chancroid, smoker, painless)."""
_TAILS: Final[dict[str, str]] = {
    **dict.fromkeys(_OWN_ENDINGS, _OWN),
    **dict.fromkeys(_DERIVED_ENDINGS, _DERIVED),
    **{t + "s": _DERIVED for t in _DERIVED_ENDINGS if not t.endswith("s")},
    **dict.fromkeys(_INFLECTIONS, _INFLECTION),
    **dict.fromkeys(("er", "ers"), _AGENT),
}
"""Every ending a word may have after its base, with its kind."""
_QUALITY: Final = frozenset(("ity", "ities", "ism"))
"""Nouns of the word itself only: abnormal, abnormality; hypothyroid, hypothyroidism; never
another ending's base (severe is no severity; organic is no organism)."""
_BASE_AT_LEAST: Final = 4
_INFLECTED_BASE_AT_LEAST: Final = 3
SHORT: Final = 3
"""A query word of this many letters or fewer that is no vocabulary word matches only itself."""
_DOUBLED: Final = ("ing", "ed")
"""A doubled consonant before these is the word's own ("cutting", "stabbed", "slipped")."""
_VOWELS: Final = frozenset("aeiou")


class Whole(str):  # noqa: SLOT000 - a str subtype cannot have non-empty __slots__
    """A query word's form that matches only the same word: the words in :attr:`same`.

    Its text is what the caller keys the word by (its stem in the ranking); :attr:`same` is
    every vocabulary word that is the same word as the one written.
    """

    same: frozenset[str]

    def __new__(cls, text: str, same: frozenset[str]) -> Self:
        """``text`` as a form matching only ``same``."""
        made = super().__new__(cls, text)
        made.same = same
        return made


class Start(str):
    """A query word's form that finds every word it starts, whatever its length.

    A fragment the vocabulary does not know ("hypothyr") and a prefix the Tabular writes
    joined ("post", "non": :data:`_JOINED`).
    """

    __slots__ = ()


def _splits(word: str) -> list[tuple[str, str, str]]:
    """Every (base, ending, kind) ``word`` is: itself, and its base before each ending."""
    out = [(word, "", _WORD)]
    for at in range(max(1, len(word) - 6), len(word)):
        tail = word[at:]
        kind = _TAILS.get(tail)
        if kind is None:
            continue
        base = word[:at]
        if len(base) < (
            _INFLECTED_BASE_AT_LEAST if kind == _INFLECTION or tail == "e" else _BASE_AT_LEAST
        ):
            continue
        out.append((base, tail, kind))
        if (
            tail in _DOUBLED
            and len(base) > _INFLECTED_BASE_AT_LEAST
            and base[-1] == base[-2]
            and base[-1] not in _VOWELS
            and base[-1] not in "ls"  # "swelling", "dressing": the word's own double
        ):
            out.append((base[:-1], "", _WORD))  # cutting: cut
    return out


def _compatible(first: tuple[str, str, str], second: tuple[str, str, str]) -> bool:
    """Whether two readings of one base are the same word (see the module's docstring)."""
    _, tail_1, kind_1 = first
    _, tail_2, kind_2 = second
    if tail_1 == tail_2 or _INFLECTION in (kind_1, kind_2):
        return True
    kinds = {kind_1, kind_2}
    if _AGENT in kinds:
        return "e" in (tail_1, tail_2)  # smoke, smoker (an inflection is taken above)
    if (tail_1 in _QUALITY or tail_2 in _QUALITY) and _WORD not in kinds:
        return False  # severe, severity
    if kinds == {_OWN}:
        return False  # tetanus, tetany
    if _WORD in kinds and _OWN in kinds:
        return "y" in (tail_1, tail_2)  # itch, itchy; never cut, cutis
    return True


_IRREGULAR: Final = (
    ("bite", "bit", "bitten"), ("break", "broke", "broken"), ("fall", "fell", "fallen"),
    ("tear", "tore", "torn"), ("sting", "stung"), ("swell", "swollen"), ("burn", "burnt"),
    ("freeze", "froze", "frozen"), ("eat", "ate", "eaten"), ("take", "took", "taken"),
    ("stick", "stuck"), ("throw", "threw", "thrown"), ("catch", "caught"), ("run", "ran"),
    ("fight", "fought"), ("lose", "lost", "loss"), ("feel", "felt"), ("get", "got", "gotten"),
    ("foot", "feet"), ("tooth", "teeth"), ("child", "children"), ("woman", "women"),
    ("louse", "lice"),
)  # fmt: skip
"""English words whose forms no ending makes: the past of the verbs people write for how
they were hurt ("dog bit me", "broke my wrist", "fell off a ladder", "torn meniscus") and the
plurals of the Tabular's nouns (feet, teeth, lice)."""
_GROUP: Final[dict[str, tuple[str, ...]]] = {w: group for group in _IRREGULAR for w in group}


def _alternatives(word: str) -> tuple[str, ...]:
    """``word`` and its irregular forms ("burned": burn, burnt; "bit": bite, bitten)."""
    found = _GROUP.get(word)
    if found is not None:
        return found
    for ending in ("ed", "ing", "es", "s", "d"):
        base = word[: -len(ending)]
        if word.endswith(ending) and base in _GROUP:
            return (word, *_GROUP[base])
    return (word,)


def same_word(asked: str, word: str) -> bool:
    """Whether ``word`` is the same word as the complete word ``asked``."""
    if asked == word:
        return True
    return any(_regular(a, w) for a in _alternatives(asked) for w in _alternatives(word))


def _regular(asked: str, word: str) -> bool:
    if asked == word:
        return True
    if asked[:_INFLECTED_BASE_AT_LEAST] != word[:_INFLECTED_BASE_AT_LEAST]:
        return False
    theirs = _splits(word)
    for mine in _splits(asked):
        for other in theirs:
            if mine[0] == other[0] and _compatible(mine, other):
                return True
    return False


def words_matching(asked: str, vocabulary: tuple[str, ...]) -> frozenset[str]:
    """The words of the sorted ``vocabulary`` that are the same word as ``asked``."""
    found: set[str] = set()
    for alternative in _alternatives(asked):
        found |= _regular_matching(alternative, vocabulary)
    return frozenset(found)


def _regular_matching(asked: str, vocabulary: tuple[str, ...]) -> set[str]:
    found = {asked} if _has(vocabulary, asked) else set()
    for base, _, _ in _splits(asked):
        at = bisect.bisect_left(vocabulary, base)
        while at < len(vocabulary) and vocabulary[at].startswith(base):
            candidate = vocabulary[at]
            if candidate not in found and _regular(asked, candidate):
                found.add(candidate)
            at += 1
        doubled = base + base[-1:]  # cut: cutting, cutt- is no base of its own
        if base[-1:] not in _VOWELS:
            for ending in _DOUBLED:
                if _has(vocabulary, doubled + ending):
                    found.add(doubled + ending)
    return found


def _has(vocabulary: tuple[str, ...], word: str) -> bool:
    at = bisect.bisect_left(vocabulary, word)
    return at < len(vocabulary) and vocabulary[at] == word


def same(form: str, word: str) -> bool:
    """Whether ``word`` (a document's or a term's) is what the query ``form`` asks for.

    A :class:`Whole` form: one of its words; a :class:`Start`: any word it starts; another
    form (a word's other spelling the ranking adds) of :data:`SHORT` letters or fewer:
    itself or its plural (one letter or digit: itself); a longer one: any word it starts.
    """
    if isinstance(form, Whole):
        return word in form.same
    if type(form) is not Start and len(form) <= SHORT:
        return word in short_forms(form)
    return word.startswith(form)


def short_forms(form: str) -> tuple[str, ...]:
    """The words a fragment of :data:`SHORT` letters or fewer finds: itself and its plural."""
    return (form, form + "s", form + "es") if len(form) > 1 else (form,)


def finds(forms: Iterable[str], words: frozenset[str] | tuple[str, ...]) -> bool:
    """Whether a word of ``words`` is what one of ``forms`` asks for (:func:`same`).

    ``words`` sorted (a tuple) is searched by bisection: the words a fragment starts are
    together from the first at or after it.
    """
    for form in forms:
        if isinstance(form, Whole):
            if not form.same.isdisjoint(words):
                return True
        elif type(form) is not Start and len(form) <= SHORT:
            if any(word in words for word in short_forms(form)):
                return True
        elif isinstance(words, tuple):
            at = bisect.bisect_left(words, form)
            if at < len(words) and words[at].startswith(form):
                return True
        elif any(w.startswith(form) for w in words):
            return True
    return False


def reach(forms: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The words ``forms`` find as wholes, and the fragments that find every word they start.

    ``word in words or word.startswith(starts)`` is then :func:`same` for any of ``forms``,
    in two C calls: the ranking asks it of every word of every code it scores.
    """
    words: set[str] = set()
    starts: list[str] = []
    for form in forms:
        if isinstance(form, Whole):
            words |= form.same
        elif type(form) is not Start and len(form) <= SHORT:
            words.update(short_forms(form))
        else:
            starts.append(form)
    return frozenset(words), tuple(starts)


_JOINED: Final = frozenset(
    ("post", "non", "anti", "hyper", "hypo", "sub", "peri", "intra", "inter", "trans",
     "extra", "over", "under", "self", "semi", "multi", "poly", "auto", "micro", "macro")
)  # fmt: skip
"""Prefixes the Tabular writes joined to their word and people write apart ("post-menopausal",
"non traumatic", "self harm"): each still finds the words it starts (postmenopausal). Not
"pre": the Tabular writes it apart too ("pre-term labor", "pre-existing")."""


def _inflected(word: str, known: frozenset[str]) -> bool:
    """Whether ``word`` is an inflection of a known word ("vapes": vape, "rashes": rash)."""
    for ending, instead in (("ies", "y"), ("es", ""), ("es", "e"), ("s", ""), ("ed", ""),
                            ("ed", "e"), ("d", ""), ("ing", ""), ("ing", "e")):  # fmt: skip
        if (
            word.endswith(ending)
            and len(word) - len(ending) >= _INFLECTED_BASE_AT_LEAST
            and word[: len(word) - len(ending)] + instead in known
        ):
            return True
    return False


class Vocabulary:
    """The words a query word is looked up in, and the form each query word is matched by."""

    def __init__(self, words: Iterable[str]) -> None:
        self._sorted = tuple(sorted(set(words)))
        self._set = frozenset(self._sorted)
        self._forms: dict[tuple[str, str], str] = {}

    def knows(self, word: str) -> bool:
        """Whether ``word`` is a complete vocabulary word."""
        return word in self._set

    def form(self, word: str, text: str | None = None) -> str:
        """The form ``word`` is matched by, keyed as ``text`` (``word`` by default).

        A complete word (or an inflection of one), or a short one: a :class:`Whole` of the
        same words; a fragment or a joined prefix: a :class:`Start`, ``text`` (or the word
        where its stem is short: "vapes" is no "vap"), matched as the start of a word.
        """
        key = (word, text or word)
        found = self._forms.get(key)
        if found is None:
            if len(self._forms) >= _MEMO_LIMIT:
                self._forms.clear()
            if word in _JOINED:
                found = Start(word)
            elif word in self._set or word in _GROUP or _inflected(word, self._set):
                found = Whole(key[1], words_matching(word, self._sorted))
            elif len(word) <= SHORT and not word.isdigit():
                found = Whole(key[1], frozenset(short_forms(word)))
            else:  # a fragment, as typed: its stem may be shorter than the word ("vap")
                found = Start(key[1] if len(key[1]) > SHORT else word)
            self._forms[key] = found
        return found


_MEMO_LIMIT: Final = 65_536
"""Query words whose form is kept; past this the memo starts again (a server's queries)."""


_IN_USE: list[Vocabulary] = []
"""The vocabulary the suggestions read query words against (:func:`use`), at most one."""


def use(vocabulary: Vocabulary) -> bool:
    """Read query words against ``vocabulary`` from now on; True when it was another one.

    The suggestions' vocabulary is the speller's (:mod:`codesets.suggest_spell`: the words of
    the code set the registry serves and of the project's tables); a caller keeping forms
    made with the previous one forgets them when this says it changed.
    """
    if _IN_USE and _IN_USE[0] is vocabulary:
        return False
    _IN_USE[:] = [vocabulary]
    return True


def in_use() -> Vocabulary | None:
    """The vocabulary :func:`use` was last given, if any."""
    return _IN_USE[0] if _IN_USE else None
