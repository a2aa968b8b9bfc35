"""Spelling tolerance for text suggestions: British spellings and misspelt words.

A coder's search in a mature tool forgives the way people type: "pnuemonia", "migrane",
"hypertention", "diarrhoea". The Tabular is written in American spelling and the word index
(:mod:`codesets.search`) matches words by their starts, so one wrong letter loses the word.
This module reads a query's words against the vocabulary the suggestions know (the Tabular's
words, the coders' index's terms, the suggestion tables' words and a short list of plain
English words, ``codesets/data/suggest/plain_words.tsv``) and corrects only the words found
nowhere in it:

* **British spellings** are rules, not guesses (the spellings of British and international
  English, which ICD-10 itself uses): ``ae`` and ``oe`` are ``e`` (anaemia, haemorrhage,
  paediatric, oedema, oesophagus, diarrhoea, foetal), ``-our`` is ``-or`` (tumour,
  behaviour), ``-ise``/``-isation`` are ``-ize``/``-ization`` (hospitalised), ``-yse`` is
  ``-yze`` (paralysed), ``-tre``/``-bre`` are ``-ter``/``-ber`` (centre, fibre), ``sulph`` is
  ``sulf``. A British word is the word itself: it is rewritten in place (:meth:`Speller.american`).
* **Misspellings** are corrected to the nearest vocabulary word by Damerau-Levenshtein
  distance (a letter added, dropped, changed or two swapped): one edit for words of 5 to 8
  letters, two from 9 letters; the nearest first, then the word the Tabular uses most. A word
  of fewer than 5 letters is corrected only by sound (below: shorthand such as "cmc" or
  "snhl" is not spelt by ear). Never corrected: a word holding a digit, a word the
  vocabulary knows (as a word or the start of one: "diabet" is a search for "diabetes"). A
  word's possessive written without its apostrophe is the word ("crohns", "kaposis"). A
  misspelt word no vocabulary knows can mean nothing else: the registry reads the words so
  corrected as the words (:meth:`Speller.corrected` with ``sure``); a word's English form
  ("dizzyness") and words written together ("chestpain") stay a second reading.
* **Spelling by sound**: people spell a word they have heard, not read ("nuemonia", "asma",
  "sirosis", "hemeroids", "diarreah"), often more edits from it than the rule above allows.
  Each word has a sound key (:func:`sound_key`: silent letters out, c/k/ch/q, s/z, ph/f and
  x/ks alike, a run of vowels one vowel, a doubled letter one letter); a word with no
  vocabulary word one edit away is corrected to the nearest word of the same key (or, from
  eight letters, of the same consonants: "hemroids"), at most three edits away; a
  four-letter word only so and only to a word one edit away or of its first two letters
  ("cist", "lise", "asma"; "fevr" is shorthand). Among words equally near, the one that
  sounds like what was typed comes first ("weezing": wheezing, not weeding; "confussion":
  confusion, not concussion; "basel": basal, not base; "diabetis": diabetes, not diabetic).
* **Words written apart**: two words, or two halves of a hyphenated word, that make one
  word of the Tabular are that word ("heart burn": heartburn, "frost bite", "bi-polar");
  made one word of the coders' index or the tables, they are a second reading ("near
  sighted": nearsighted). Not where the Tabular holds the two words together more often
  than the one ("post-traumatic"), nor a plain English word ("with out"), nor after
  "status" (the Index's "Status (post)": "status post cholecystectomy").

One edit is found by trying every word one edit away (about 55 a letter) against the sorted
vocabulary; two edits, rarer, by measuring the words of the same first letter and a length
within two. Both are memoised per word, so a query pays only for the words it misspells; the
sound keys of the vocabulary are made the first time a word needs them.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Final

from codesets import suggest_tables
from codesets.search import Icd10cmSearch, stem, words_of
from codesets.suggest_cache import coders_index
from codesets.suggest_tables import TABLES, table_rows
from codesets.word_match import Vocabulary

__all__ = [
    "Speller",
    "british_to_american",
    "damerau_levenshtein",
    "plain_words",
    "sound_key",
    "speller_for",
]

_CORRECT_FROM: Final = 5
"""Shorter words are abbreviations more often than misspellings: never corrected."""
_CORRECT_UNTIL: Final = 30
"""Longer is no word of a diagnosis (a pasted string): left as written, not measured."""
_MEMO_LIMIT: Final = 65_536
"""Words whose correction is kept; past this the memo starts again (a server's queries)."""
_TWO_EDITS_FROM: Final = 9
"""From this length a word may be two edits from the one meant ("hemmorhoids")."""
_ENGLISH_ENDINGS: Final = (
    ("ally", "al"), ("ily", "y"), ("ly", ""), ("ness", ""), ("ments", ""), ("ment", ""),
    ("ful", ""), ("less", ""), ("ers", ""), ("er", ""), ("ing", ""), ("ing", "e"), ("ed", ""),
    ("ed", "e"), ("ies", "y"), ("es", ""), ("s", ""),
)  # fmt: skip
"""English endings on a vocabulary word make a word, not a misspelling ("completely",
"dizzyness"): read as the word itself where the search does not find them (ending, what the
word ends in without it)."""
_ENDINGS_SHORTEST_FIRST: Final = tuple(sorted(_ENGLISH_ENDINGS, key=lambda e: len(e[0])))
"""The nearest base first: "golfers" is "golfer", not "golf"."""
_TOGETHER_COUNTED: Final = 100
"""Codes counted that hold two words together: more is "the Tabular's own two words"."""
_BASE_AT_LEAST: Final = 4
_SPLITS: Final = 3
"""Words written together are read as at most this many ("lowbackpain": low back pain)."""
_PART_AT_LEAST: Final = 3
_SOUND_FROM: Final = 4
"""A four-letter word is corrected only to a word that sounds the same ("asma": asthma)."""
_SOUND_EDITS: Final = 3
"""A word of the same sound at most this many edits away ("hemeroids": hemorrhoids)."""
_SOUND_BEFORE_SLIP: Final = 2
"""A word this near that sounds as typed comes before one a single edit away that does not."""
_CONSONANTS_FROM: Final = 8
"""From this length a word may keep only the consonants of the one meant ("hemroids")."""
_JOINED_AT_LEAST: Final = 6
"""Two words written apart make one of at least this many letters ("heart burn")."""
_SOUND_RULES: Final = tuple(
    (re.compile(pattern), sound)
    for pattern, sound in (
        (r"^p(?=[ns])|^[kg](?=n)|^w(?=r)", ""),  # pneumonia, psoriasis, knee, gnat, wrist
        (r"^x", "s"),  # xanthoma
        (r"ph", "f"),  # emphysema: "emfisema"
        (r"sth", "s"),  # asthma: "asma"
        (r"t(?=ch|z)", ""),  # stitch, schizophrenia: "schitzophrenia"
        (r"ch", "k"),  # chronic, cholecystitis, ache, stomach
        (r"ck", "k"),
        (r"c(?=[eiy])", "s"),  # cirrhosis: "sirosis"; lice: "lise"
        (r"x", "ks"),  # chickenpox: "chickenpocks"
        (r"[cq]", "k"),
        (r"z", "s"),  # eczema: "excema"
        (r"dg", "j"),
        (r"ti(?=[aeiou])", "s"),  # -tion, -tial: "infecshun" is infection
        (r"th", "0"),  # th is its own sound: "artheritis" is arthritis, not arteritis
        (r"(?<=.)h", ""),  # wheezing, rhythm, diarrhea: an h not first is silent
        (r"w(?![aeiouy])", "a"),  # "newmonia": a w before a consonant is a vowel
        (r"(?<=[^aeiouy])e$", ""),  # a silent final e: "sprane" is sprain
        (r"[aeiouy]+", "a"),  # vowels are heard as where they are, not which
        (r"(.)\1+", r"\1"),  # a doubled letter is one sound
    )
)
"""How a word sounds, as rules of English spelling (:func:`sound_key`)."""
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_WORD: Final = re.compile(r"(?<![a-z0-9])[a-z]+(?![a-z0-9])")
_STATUS_POST: Final = re.compile(r"\bstatus\s+$")
"""The Index's "Status (post)": the word after it names a procedure, not one word with it."""
_APART: Final = re.compile(r"(?<![a-z0-9-])([a-z]{2,})[ -](?=([a-z]{2,})(?![a-z0-9-]))")
"""Two words written apart, or the halves of a hyphenated word ("heart burn", "bi-polar")."""
_BRITISH: Final = (
    (re.compile(r"ae"), "e"),  # anaemia, haemorrhage, paediatric, leukaemia, caesarean
    (re.compile(r"oe"), "e"),  # oedema, oesophagus, diarrhoea, foetal, coeliac, dyspnoea
    (re.compile(r"our(?=s?$|ed$|ing$|al$|ally$)"), "or"),  # tumour, behavioural, labour
    (re.compile(r"is(?=e$|es$|ed$|ing$|ation$|ations$)"), "iz"),  # hospitalised, immunisation
    (re.compile(r"ys(?=e$|es$|ed$|ing$)"), "yz"),  # paralysed, analyse
    (re.compile(r"([bctv])re(?=s?$)"), r"\1er"),  # fibre, centre, manoeuvre
    (re.compile(r"sulph"), "sulf"),  # sulphonamide
    (re.compile(r"ogue(?=s?$)"), "og"),  # analogue
    (re.compile(r"ll(?=ed$|ing$)"), "l"),  # travelled, labelled
    (re.compile(r"ence(?=s?$)"), "ense"),  # licence, defence
    (re.compile(r"^grey"), "gray"),
    (re.compile(r"^mould"), "mold"),
    (re.compile(r"aluminium"), "aluminum"),
    (re.compile(r"ageing"), "aging"),
)
"""British spelling -> American, each a rule of the two spellings (not of one word)."""


def british_to_american(word: str, known: Callable[[str], bool]) -> str | None:
    """``word``'s American spelling that ``known`` knows, or None (none applies or is known).

    Every rule that applies at once first ("haemorrhoidal", "oesophageal"), then each alone.
    """
    tried: list[str] = []
    together = word
    for pattern, american in _BRITISH:
        changed = pattern.sub(american, word)
        if changed != word:
            tried.append(changed)
            together = pattern.sub(american, together)
    if together != word:
        tried.insert(0, together)
    return next((w for w in tried if known(w)), None)


def sound_key(word: str) -> str:
    """How ``word`` sounds: the same key for the ways one sound is spelt ("nuemonia", "pneumonia").

    Silent first letters and h go, c/k/ch/q/ck are one sound, s/z another, ph is f, x is ks,
    a run of vowels is one vowel (written "a") and a doubled letter one letter.
    """
    for pattern, sound in _SOUND_RULES:
        word = pattern.sub(sound, word)
    return word


def _consonants(word: str) -> str:
    """The consonants of ``word``'s sound key: what is left when the vowels are misheard."""
    return sound_key(word).replace("a", "")


def _alike(near: Iterable[str], word: str, key: Callable[[str], str]) -> set[str]:
    """The words of ``near`` whose ``key`` is ``word``'s."""
    wanted = key(word)
    return {w for w in near if key(w) == wanted}


def damerau_levenshtein(a: str, b: str, most: int = 2) -> int:
    """The optimal string alignment distance between ``a`` and ``b``, or ``most + 1`` beyond.

    Edits are a letter inserted, deleted or replaced, or two neighbours swapped; the count
    stops as soon as it must exceed ``most``.
    """
    if abs(len(a) - len(b)) > most:
        return most + 1
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            value = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > most:
            return most + 1
        before, row = row, current
    return row[-1] if row[-1] <= most else most + 1


def _one_edit(word: str) -> Iterable[str]:
    """Every string one edit from ``word``: deletions, swaps, replacements, insertions."""
    splits = [(word[:at], word[at:]) for at in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            if len(right) > 1:
                yield left + right[1] + right[0] + right[2:]
            for letter in _LETTERS:
                if letter != right[0]:
                    yield left + letter + right[1:]
        for letter in _LETTERS:
            yield left + letter + right


@functools.cache
def plain_words() -> frozenset[str]:
    """The plain English words of ``plain_words.tsv``: words, never misspellings."""
    path = TABLES / "plain_words.tsv"
    return frozenset(
        word.lower()
        for _, cells in table_rows(path, ("words", "kind"), what="suggestion table")
        for word in cells[0].split()
    )


class Speller:
    """Corrects a query's words the vocabulary does not know (see the module's docstring).

    ``tabular``: the Tabular's words, sorted; ``frequency``: how many of the Tabular's
    documents hold a word (the more, the likelier it is the word meant); ``others``: the
    words of the coders' index, the suggestion tables and plain English; ``together``: how
    many of the Tabular's codes hold two words (as word starts) at once (none given: 0).
    """

    def __init__(
        self,
        tabular: Sequence[str],
        frequency: Callable[[str], int],
        others: Iterable[str],
        together: Callable[[str, str], int] | None = None,
    ) -> None:
        self._tabular = tabular
        self._frequency = frequency
        self._others = tuple(sorted(set(others)))
        self._other_set = frozenset(self._others)
        self._together = together or (lambda _a, _b: 0)
        self._americans: dict[str, str | None] = {}
        self._corrections: dict[str, str | None] = {}
        self._joins: dict[tuple[str, str], str | None] = {}
        self._guesses: set[str] = set()  # corrected to a form or to words written together
        self._sounds: dict[str, tuple[str, ...]] | None = None
        self._consonants: dict[str, tuple[str, ...]] | None = None
        self._vocabulary: Vocabulary | None = None

    @property
    def vocabulary(self) -> Vocabulary:
        """Every word it knows: what query words are matched by (:mod:`codesets.word_match`)."""
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(itertools.chain(self._tabular, self._others))
        return self._vocabulary

    def known(self, word: str) -> bool:
        """Whether ``word`` is a vocabulary word, or the start of one (as the search reads it)."""
        if word in self._other_set:
            return True
        for words in (self._tabular, self._others):  # the start of a word: "diabet"
            at = bisect.bisect_left(words, word)
            if at < len(words) and words[at].startswith(word):
                return True
        return False

    def american(self, text: str) -> str:
        """``text`` with its British spellings in American, words written apart as one word.

        Words it knows are left as written; a British word some table also writes ("tumour")
        is still the Tabular's American word; two words that make one word of the Tabular are
        that word ("heart burn", see :meth:`_joined`).
        """
        british = self._rewrite(
            text, self._american, self._americans, shortest=_CORRECT_FROM, tabular_only=True
        )
        joined = self._joined(british or text.lower(), tabular=True)
        return joined or british or text

    def corrected(self, text: str, *, sure: bool = False) -> str | None:
        """``text`` with its misspelt words corrected, or None when it has none to correct.

        ``sure``: only the words misspelt (one edit, by sound, two edits, a possessive), not
        a word's English form ("inadequately"), words written together ("subacromial": sub
        acromial?) nor words written apart: those are readings beside the words as written.
        """
        keep = self._guesses if sure else frozenset()
        fixed = self._rewrite(
            text, self._nearest, self._corrections, shortest=_SOUND_FROM, keep=keep
        )
        if sure:
            return fixed
        return self._joined(fixed or text.lower(), tabular=False) or fixed

    def _rewrite(
        self,
        text: str,
        fix: Callable[[str], str | None],
        memo: dict[str, str | None],
        *,
        shortest: int,
        tabular_only: bool = False,
        keep: AbstractSet[str] = frozenset(),
    ) -> str | None:
        lowered = text.lower()
        changed = False

        def one(found: re.Match[str]) -> str:
            nonlocal changed
            word = found.group(0)
            if not shortest <= len(word) <= _CORRECT_UNTIL:
                return word
            if word not in memo:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                known = self._in_tabular(word) if tabular_only else self.known(word)
                memo[word] = None if known else fix(word)
            better = memo[word]
            if better is None or word in keep:
                return word
            changed = True
            return better

        out = _WORD.sub(one, lowered)
        return out if changed else None

    def _in_tabular(self, word: str) -> bool:
        """Whether ``word`` is a word of the Tabular or the start of one."""
        at = bisect.bisect_left(self._tabular, word)
        return at < len(self._tabular) and self._tabular[at].startswith(word)

    def _joined(self, lowered: str, *, tabular: bool) -> str | None:
        """``lowered`` with two words written apart as the one word they make, or None.

        Only a word of the Tabular (``tabular``) or of the other vocabulary (not plain
        English: "with out" stays), and only where the Tabular writes it as one word more
        often than it holds the two words together ("post-traumatic" stays apart).
        """
        out: list[str] = []
        at = 0
        for found in _APART.finditer(lowered):
            if found.start() < at:
                continue  # its first word was joined to the one before
            left, right = found.group(1), found.group(2)
            if _STATUS_POST.search(lowered, 0, found.start()):
                continue  # "status post cholecystectomy": after one, no postcholecystectomy
            if (left, right) not in self._joins:
                if len(self._joins) >= _MEMO_LIMIT:
                    self._joins.clear()
                self._joins[left, right] = self._join(left, right)
            word = self._joins[left, right]
            if word is None or tabular != (self._frequency(word) > 0):
                continue
            out += (lowered[at : found.start()], word)
            at = found.start() + len(left) + 1 + len(right)
        return "".join((*out, lowered[at:])) if out else None

    def _join(self, left: str, right: str) -> str | None:
        word = left + right
        if len(word) < _JOINED_AT_LEAST or word in plain_words() or not self._is_word(word):
            return None
        if not words_of(left) or not words_of(right):
            return None  # a stop word is no half of a word: "here for med refill" is not "formed"
        if self._together(left, right) >= max(self._frequency(word), 1):
            return None  # the Tabular's own two words
        return word

    def _american(self, word: str) -> str | None:
        return british_to_american(word, self._is_word)

    def _nearest(self, word: str) -> str | None:
        """What ``word`` was meant to be, or None.

        A possessive's word ("crohns"), a short word by sound, then (:meth:`_misspelt`) its
        base word ("dizzyness": dizzy), the vocabulary word one edit away, the words written
        together ("chestpain": chest pain), the word that sounds like it, the word two edits
        away (a long word); among as near, the one that sounds as typed, the most used, the
        first.
        """
        if self._american(word) is not None:
            return None  # a British spelling: rewritten in place, not guessed at
        if word.endswith("s") and self._is_word(word[:-1]):
            # A possessive without its apostrophe ("crohns", "kaposis"); a plural the search
            # reads as its word is no misspelling ("fractures").
            return None if self._searchable(word) else word[:-1]
        if len(word) < _CORRECT_FROM:  # shorthand, unless it is a word spelt by sound
            return self._by_sound(word)
        return self._misspelt(word)

    def _misspelt(self, word: str) -> str | None:
        singular: set[str] = set()
        if word.endswith("s") and not word.endswith("ss") and len(word) > _CORRECT_FROM:
            # A misspelt plural ("migranes") is corrected as its singular ("migraine"), before
            # a word one edit from the plural itself ("migrans").
            singular = {w for w in _one_edit(word[:-1]) if self._is_word(w)}
        whole = {w for w in _one_edit(word) if self._is_word(w)}
        # As near, the word that sounds as typed ("diabetis" is diabetes, not diabetic;
        # "weezing" wheezing, not weeding), else the one of the same consonants ("brokn" is
        # broken, not brown).
        alike = (
            _alike(singular, word[:-1], sound_key)
            or _alike(whole, word, sound_key)
            or _alike(singular, word[:-1], _consonants)
            or _alike(whole, word, _consonants)
        )
        base = None if alike else self._base(word)
        if base is not None:
            # A word's English form: the word, unless the search reads it so; but a misspelt
            # word with the same ending is that word ("horseness": hoarseness, not horse).
            if self._searchable(word):
                return None
            self._guesses.add(word)
            return base
        if not alike and (singular or whole):
            # A word two edits away that sounds as typed, before one that sounds apart: "exema"
            # is eczema, not edema (a slip of one key rarely sounds like another word).
            heard = self._by_sound(word, _SOUND_BEFORE_SLIP)
            alike = {heard} if heard is not None else set()
        near = alike or singular or whole or self._far(word)
        return min(near, key=lambda w: (-self._frequency(w), w)) if near else None

    def _far(self, word: str) -> set[str]:
        """No word one edit away: words written together, then by sound, then two edits."""
        joined = self._split(word, _SPLITS)
        if joined is not None:
            self._guesses.add(word)
            return {joined}
        heard = self._by_sound(word)
        if heard is not None:
            return {heard}
        if len(word) < _TWO_EDITS_FROM:
            return set()
        apart = {w: damerau_levenshtein(word, w) for w in self._same_start(word)}
        best = min(apart.values(), default=3)
        return {w for w, d in apart.items() if d == best <= 2}

    def _by_sound(self, word: str, edits: int = _SOUND_EDITS) -> str | None:
        """The nearest vocabulary word that sounds like ``word`` (:func:`sound_key`), or None.

        The same key first; from eight letters, the same consonants ("hemroids"); at most
        three edits away; among as near, the most used.
        """
        if self._sounds is None or self._consonants is None:
            self._sounds, self._consonants = self._sound_index()
        keys = [sound_key(word)]
        if word.endswith("s"):  # a possessive or plural: "chrons" is Crohn('s)
            keys.append(sound_key(word[:-1]))
        found: tuple[str, ...] = ()
        for key in keys:
            found = found or self._sounds.get(key, ())
        if len(word) >= _CONSONANTS_FROM:
            for key in keys:
                found = found or self._consonants.get(key.replace("a", ""), ())
        apart = {w: damerau_levenshtein(word, w, edits) for w in found}
        if len(word) < _CORRECT_FROM:  # a short word: one edit, or its first two letters kept
            apart = {w: d for w, d in apart.items() if d <= 1 or w[:2] == word[:2]}
        best = min(apart.values(), default=edits + 1)
        if best > edits:
            return None
        return min(
            (w for w, d in apart.items() if d == best), key=lambda w: (-self._frequency(w), w)
        )

    def _sound_index(self) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        """The vocabulary's words by sound key, and by the key's consonants (8+ letters)."""
        sounds: dict[str, list[str]] = {}
        consonants: dict[str, list[str]] = {}
        for word in itertools.chain(self._tabular, self._others):
            if word.isalpha() and word not in plain_words():
                key = sound_key(word)
                sounds.setdefault(key, []).append(word)
                if len(word) >= _CONSONANTS_FROM - 2:
                    consonants.setdefault(key.replace("a", ""), []).append(word)
        return (
            {k: tuple(v) for k, v in sounds.items()},
            {k: tuple(v) for k, v in consonants.items()},
        )

    def _base(self, word: str) -> str | None:
        """The vocabulary word ``word`` is with an English ending ("dizzyness": dizzy), or None."""
        for ending, base in _ENDINGS_SHORTEST_FIRST:
            if word.endswith(ending) and len(word) - len(ending) >= _BASE_AT_LEAST:
                root = word[: len(word) - len(ending)] + base
                if self._is_word(root):
                    return root
        return None

    def _searchable(self, word: str) -> bool:
        """Whether the word index reads ``word`` already: its stem starts a Tabular word."""
        form = stem(word)
        at = bisect.bisect_left(self._tabular, form)
        return at < len(self._tabular) and self._tabular[at].startswith(form)

    def _split(self, word: str, parts: int) -> str | None:
        """``word`` as vocabulary words written together ("chestpain"), at most ``parts`` of them.

        Each part at least three letters; between two ways, the one whose rarest part the
        Tabular uses most.
        """
        best: tuple[int, str] | None = None
        for at in range(_PART_AT_LEAST, len(word) - _PART_AT_LEAST + 1):
            left, right = word[:at], word[at:]
            if not self._is_word(left):
                continue
            if self._is_word(right):
                found: str | None = right
            elif parts > 2:  # one part taken, more may follow
                found = self._split(right, parts - 1)
            else:
                found = None
            if found is not None:
                uses = min(self._frequency(w) for w in (left, *found.split()))
                if best is None or uses > best[0]:
                    best = (uses, f"{left} {found}")
        return best[1] if best else None

    def _same_start(self, word: str) -> Iterable[str]:
        """The vocabulary's words of ``word``'s first letter, within two letters of its length."""
        for words in (self._tabular, self._others):
            at = bisect.bisect_left(words, word[0])
            end = bisect.bisect_left(words, chr(ord(word[0]) + 1))
            for candidate in words[at:end]:
                if abs(len(candidate) - len(word)) <= 2:
                    yield candidate

    def _is_word(self, word: str) -> bool:
        if word in self._other_set:
            return True
        at = bisect.bisect_left(self._tabular, word)
        return at < len(self._tabular) and self._tabular[at] == word


_SPELLERS: Final[weakref.WeakKeyDictionary[Icd10cmSearch, Speller]] = weakref.WeakKeyDictionary()


def speller_for(search: Icd10cmSearch, words: Callable[[], Iterable[str]]) -> Speller:
    """The speller of ``search``'s vocabulary, made on first use and kept with it.

    ``words``: the caller's own vocabulary (abbreviations, lay terms) beside the coders'
    index's, the suggestion tables' and the plain words this module adds.
    """
    found = _SPELLERS.get(search)
    if found is None:
        tables = (
            *suggest_tables.abbreviations(),
            *suggest_tables.synonyms(),
            *suggest_tables.drugs(),
            *suggest_tables.defaults(),
        )
        others = itertools.chain(
            coders_index().vocabulary,
            plain_words(),
            (w for key in tables for w in _WORD.findall(key.lower())),
            (w for key in words() for w in _WORD.findall(key.lower())),
        )
        found = Speller(
            search.vocabulary,
            search.frequency,
            others,
            lambda a, b: len(search.search(f"{a} {b}", limit=_TOGETHER_COUNTED)),
        )
        _SPELLERS[search] = found
    return found
