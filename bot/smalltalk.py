"""Small talk and plainly off-topic messages, read from word lists in the lexicon.

A message is small talk when every word in it belongs to the lexicon's small-talk phrases ("lol ok
thanks", "great, ta", "no that's everything"): the words are read as typed (lower case, punctuation
and apostrophes dropped) without the abbreviations, so "ta" is thanks here while "TA" in a question is
still a teaching assistant. Fillers ("no", "so", "mate") may come with small talk but are none on
their own. A goodbye wins over thanks, thanks over a greeting, a greeting over a bare
acknowledgement ("ok", "cool").

A question the FAQ cannot answer is off-topic when it uses one of the lexicon's off-topic words
(weather, football, PGCE, another school subject) and none of its in-domain words or programme names:
it gets an honest "outside what I cover" instead of an offer to ask a Maths Hub.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from bot.normalise import contains_phrase
from knowledge.models import Lexicon

SmallTalk = Literal["goodbye", "thanks", "greeting", "acknowledgement"]
# Longer messages are questions, whatever words they use.
MAX_SMALL_TALK_WORDS = 10

_APOSTROPHE = re.compile(r"[\u2019\u2018'`\u00b4]")
_NON_WORD = re.compile(r"[^\w]+")


def plain_words(text: str) -> list[str]:
    """Lower-case words as typed: no abbreviations or spellings applied."""
    text = _APOSTROPHE.sub("", unicodedata.normalize("NFKC", text).lower())
    return _NON_WORD.sub(" ", text).split()


def _phrases(items: tuple[str, ...]) -> tuple[str, ...]:
    normalised = {" ".join(plain_words(item)) for item in items}
    return tuple(sorted((p for p in normalised if p), key=lambda p: -len(p)))


class SmallTalkReader:
    """The lexicon's small-talk and off-topic lists, prepared once per knowledge version."""

    def __init__(self, lexicon: Lexicon) -> None:
        # In order of precedence: what a message made of several kinds counts as.
        self._kinds: tuple[tuple[SmallTalk, tuple[str, ...]], ...] = (
            ("goodbye", _phrases(lexicon.goodbyes)),
            ("thanks", _phrases(lexicon.thanks)),
            ("greeting", _phrases(lexicon.greetings)),
            ("acknowledgement", _phrases(lexicon.acknowledgements)),
        )
        self._fillers = frozenset(w for filler in lexicon.small_talk_fillers for w in plain_words(filler))
        self._off_topic = _phrases(lexicon.off_topic_words)
        self._in_domain = _phrases(lexicon.in_domain_words)

    def small_talk(self, text: str) -> SmallTalk | None:
        words = plain_words(text)
        if not words or len(words) > MAX_SMALL_TALK_WORDS:
            return None
        remaining = f" {' '.join(words)} "
        found: set[SmallTalk] = set()
        for kind, phrases in self._kinds:
            for phrase in phrases:
                needle = f" {phrase} "
                if needle in remaining:
                    found.add(kind)
                    remaining = remaining.replace(needle, " | ")
        if any(w not in self._fillers for w in remaining.replace("|", " ").split()):
            return None  # a word that is not small talk: a question
        return next((kind for kind, _ in self._kinds if kind in found), None)

    def off_topic(self, text: str) -> bool:
        joined = " ".join(plain_words(text))
        if any(contains_phrase(joined, word) for word in self._in_domain):
            return False
        return any(contains_phrase(joined, word) for word in self._off_topic)
