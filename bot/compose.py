"""Questions answered from several FAQ entries: two-part questions and comparisons of programmes.

Both are read with word lists from the lexicon:
- a two-part question ("is the dwg free and can an ECT join it?") is split where a joining word
  (`clause_joins`: and, also …) is followed by a word that starts a question (`clause_openers`: can,
  is, how …), and after a question mark followed by more words;
- a comparison names two or more programmes and uses a `comparison_cues` word (difference, vs,
  compare …); it is answered topic by topic (`comparison_aspects`, each with a wording that picks a
  programme's entry on that topic) from the programmes' own entries, never from text written for a pair.
"""

from __future__ import annotations

import re

from bot.normalise import contains_phrase
from bot.smalltalk import plain_words
from knowledge.models import Lexicon, Topic

MAX_CLAUSES = 3
MIN_CLAUSE_WORDS = 2


class Composer:
    """The lexicon's clause and comparison words, prepared once per knowledge version."""

    def __init__(self, lexicon: Lexicon) -> None:
        joins = "|".join(re.escape(j) for j in sorted(lexicon.clause_joins, key=len, reverse=True))
        openers = "|".join(re.escape(o) for o in sorted(lexicon.clause_openers, key=len, reverse=True))
        self._split = (
            re.compile(rf"[,;]?\s+(?:{joins})\s+(?=(?:{openers})\b)", re.IGNORECASE)
            if joins and openers
            else None
        )
        self._cues = tuple(" ".join(plain_words(c)) for c in lexicon.comparison_cues)
        self.aspects: dict[Topic, str] = dict(lexicon.comparison_aspects)

    def clauses(self, text: str) -> list[str]:
        """The questions in one message, in order; one element when it asks one thing."""
        pieces = [p for p in re.split(r"\?+\s+", text) if p.strip()]
        out: list[str] = []
        for piece in pieces:
            out.extend(p for p in (self._split.split(piece) if self._split else [piece]) if p.strip())
        merged: list[str] = []
        for clause in out:
            if merged and len(plain_words(clause)) < MIN_CLAUSE_WORDS:
                merged[-1] = f"{merged[-1]} {clause}"
            else:
                merged.append(clause.strip())
        return merged if 1 < len(merged) <= MAX_CLAUSES else [text]

    def is_comparison(self, text: str) -> bool:
        joined = " ".join(plain_words(text))
        return any(contains_phrase(joined, cue) for cue in self._cues)
