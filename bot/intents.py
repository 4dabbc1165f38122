"""Intent patterns: word sequences with gaps that say what a message asks for ("pass … question … on").

A pattern is written in the lexicon (`intent_patterns`) over normalised text: words separated by
spaces, `a|b` for alternatives, `…` for any number of words in between; words next to each other in
the pattern must be next to each other in the message. A word of five letters or more also matches a
close misspelling ("qustion", "contct"), judged with rapidfuzz. The exact `intents` phrases are
checked first; patterns catch the many other ways people ask for the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

GAP = "…"
TYPO_MIN_LENGTH = 5
TYPO_SCORE = 80.0
MAX_WORDS = 80


@dataclass(frozen=True)
class _Step:
    words: tuple[tuple[str, ...], ...]  # alternatives, each one or more words
    gap_before: bool

    def ends_at(self, words: Sequence[str], start: int) -> list[int]:
        """Where this step ends when it starts at `start` (one end per alternative that fits)."""
        out = []
        for alternative in self.words:
            end = start + len(alternative)
            if end <= len(words) and all(
                _same(a, w) for a, w in zip(alternative, words[start:end], strict=True)
            ):
                out.append(end)
        return out


class Pattern:
    def __init__(self, text: str) -> None:
        self.text = text
        steps: list[_Step] = []
        gap = False
        for token in text.split():
            if token == GAP:
                gap = True
                continue
            alternatives = tuple(tuple(alt.split("_")) for alt in token.split("|") if alt)
            if not alternatives:
                raise ValueError(f"empty alternative in intent pattern {text!r}")
            steps.append(_Step(alternatives, gap_before=gap or not steps))
            gap = False
        if not steps:
            raise ValueError(f"intent pattern {text!r} has no words")
        self._steps = tuple(steps)

    def matches(self, words: Sequence[str]) -> bool:
        """Linear in the message's length: the set of positions each step can end at, step by step
        (after a gap only the earliest end matters, since any later start is allowed)."""
        ends: set[int] = {0}
        for step in self._steps:
            if step.gap_before:
                earliest = min(ends)
                starts: Iterable[int] = range(earliest, len(words))
            else:
                starts = sorted(ends)
            ends = {end for start in starts for end in step.ends_at(words, start)}
            if not ends:
                return False
        return True


@lru_cache(maxsize=65536)
def _same(expected: str, word: str) -> bool:
    if expected == word:
        return True
    if len(expected) < TYPO_MIN_LENGTH or abs(len(expected) - len(word)) > 2:
        return False
    return fuzz.ratio(expected, word) >= TYPO_SCORE


class IntentPatterns:
    """The lexicon's patterns, compiled once per knowledge version."""

    def __init__(self, patterns: Mapping[str, Sequence[str]]) -> None:
        self._patterns = {name: tuple(Pattern(p) for p in texts) for name, texts in patterns.items()}

    def intent_of(self, normalised: str) -> str | None:
        """The intent a message asks for, or None. A long message is a question, not a request."""
        words = normalised.split()
        if len(words) > MAX_WORDS:
            return None
        for name, patterns in self._patterns.items():
            if any(p.matches(words) for p in patterns):
                return name
        return None
