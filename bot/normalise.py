"""Text normalisation shared by the FAQ matcher and the flows: case, punctuation, spelling, abbreviations."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from knowledge.models import Lexicon

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")
_APOSTROPHE_IN_WORD = re.compile(r"(?<=\w)'(?=\w)")
_NON_WORD = re.compile(r"[^\w£]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def clean_user_text(text: str) -> str:
    """Remove control and invisible formatting characters, keep line breaks, trim."""
    text = unicodedata.normalize("NFC", text)
    return _CONTROL.sub("", text).strip()


def expands_beyond(text: str, limit: int, chunk: int = 256) -> bool:
    """True when `text` is longer than `limit` characters once NFKC-normalised (the form the matcher
    reads). Plain ASCII never expands; otherwise the text is normalised a chunk at a time, stopping
    as soon as the limit is passed, so a message built to expand costs a fraction of a millisecond."""
    if text.isascii():
        return len(text) > limit
    total = 0
    for start in range(0, len(text), chunk):
        total += len(unicodedata.normalize("NFKC", text[start : start + chunk]))
        if total > limit:
            return True
    return False


class Normaliser:
    """Turns free text into a canonical lower-case token string using the knowledge lexicon."""

    def __init__(self, lexicon: Lexicon) -> None:
        self._spellings = dict(lexicon.spellings)
        self._abbreviations = dict(lexicon.abbreviations)
        self.stopwords = frozenset(lexicon.stopwords)
        # Phrases are matched on the normalised words, longest first, so build them from normalised keys.
        self._phrases = sorted(
            ((" ".join(self._words(k)), " ".join(self._words(v))) for k, v in lexicon.phrases.items()),
            key=lambda pair: -len(pair[0]),
        )

    def _words(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
        text = _DIGIT_COMMA.sub("", text)
        text = _APOSTROPHE_IN_WORD.sub("", text)
        text = text.replace("£", " £ ")
        out: list[str] = []
        for raw in _NON_WORD.sub(" ", text).split():
            word = self._spellings.get(raw, raw)
            out.extend(self._abbreviations.get(word, word).split())
        return out

    def tokens(self, text: str) -> list[str]:
        words = self._words(text)
        if not self._phrases:
            return words
        joined = f" {' '.join(words)} "
        for phrase, replacement in self._phrases:
            if f" {phrase} " in joined:
                joined = joined.replace(f" {phrase} ", f" {replacement} ")
        return joined.split()

    def normalise(self, text: str) -> str:
        return " ".join(self.tokens(text))

    def content(self, tokens: Iterable[str]) -> list[str]:
        return [t for t in tokens if t not in self.stopwords]


def contains_phrase(normalised: str, phrase: str) -> bool:
    """True when `phrase` (already normalised) occurs in `normalised` on word boundaries."""
    if not phrase:
        return False
    return f" {phrase} " in f" {normalised} "
