"""FAQ matcher: normalise the question, score every FAQ phrasing, then answer, disambiguate or refuse.

The score for an entry is the best fuzzy similarity over its phrasings (rapidfuzz), blended with an
IDF-weighted word overlap, then nudged by structure the question reveals: which programme it names
(or the programme discussed last, for follow-ups) and which topic cue words it uses.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from bot.normalise import Normaliser, contains_phrase
from knowledge.loader import Knowledge
from knowledge.models import FaqEntry

Outcome = Literal["answer", "ambiguous", "unknown"]


@dataclass(frozen=True)
class MatcherConfig:
    answer_threshold: float = 62.0
    suggest_threshold: float = 48.0
    ambiguity_margin: float = 4.0
    suggest_window: float = 12.0
    max_choices: int = 3
    fuzzy_weight: float = 0.55
    programme_bonus: float = 12.0
    programme_penalty: float = 20.0
    general_penalty: float = 6.0
    topic_bonus: float = 8.0
    topic_penalty: float = 4.0
    typo_cutoff: float = 82.0


@dataclass(frozen=True)
class Candidate:
    entry: FaqEntry
    score: float


@dataclass(frozen=True)
class MatchResult:
    outcome: Outcome
    candidates: tuple[Candidate, ...] = ()
    programmes: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    used_context: bool = False

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass
class _Phrasing:
    entry_index: int
    content: str
    tokens: frozenset[str]
    neutral: str  # the content with programme names taken out: what is asked, not about which programme
    neutral_tokens: frozenset[str]


@dataclass
class _Index:
    phrasings: list[_Phrasing] = field(default_factory=list)
    idf: dict[str, float] = field(default_factory=dict)
    vocabulary: list[str] = field(default_factory=list)


def answer_text(entry: FaqEntry, today: dt.date) -> str:
    """The entry's answer as of `today`: dated answers switch once their date has passed."""
    if entry.dated is not None and today > entry.dated.date:
        return entry.dated.answer_after
    return entry.answer


class FaqMatcher:
    def __init__(self, knowledge: Knowledge, config: MatcherConfig | None = None) -> None:
        self.knowledge = knowledge
        self.config = config or MatcherConfig()
        self.normaliser = Normaliser(knowledge.lexicon)
        self._entries: Sequence[FaqEntry] = knowledge.faq
        self._aliases = self._programme_aliases()
        self._cues = {
            topic: tuple(self.normaliser.normalise(c) for c in cues)
            for topic, cues in knowledge.lexicon.topic_cues.items()
        }
        self._follow_up = tuple(self.normaliser.normalise(c) for c in knowledge.lexicon.follow_up_cues)
        self._index = self._build_index()

    # -- index -------------------------------------------------------------------------------
    def _programme_aliases(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for programme in self.knowledge.programmes.values():
            for alias in {programme.name, programme.short_name, *programme.aliases}:
                normalised = self.normaliser.normalise(alias)
                if normalised:
                    pairs.append((normalised, programme.id))
        # Longest first, so "embedding and sustaining work group" wins over "work group".
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def _build_index(self) -> _Index:
        index = _Index()
        document_tokens: list[set[str]] = []
        vocabulary: set[str] = set()
        for entry_index, entry in enumerate(self._entries):
            doc: set[str] = set()
            for text in (entry.question, *entry.phrasings):
                tokens = self.normaliser.tokens(text)
                vocabulary.update(tokens)
                content = self.normaliser.content(tokens)
                neutral = self.normaliser.content(self.without_programmes(" ".join(tokens)).split())
                doc.update(content)
                index.phrasings.append(
                    _Phrasing(
                        entry_index,
                        " ".join(content),
                        frozenset(content),
                        " ".join(neutral),
                        frozenset(neutral),
                    )
                )
            document_tokens.append(doc)
        for alias, _ in self._aliases:
            vocabulary.update(alias.split())
        for cues in self._cues.values():
            for cue in cues:
                vocabulary.update(cue.split())
        counts: Counter[str] = Counter()
        for doc in document_tokens:
            counts.update(doc)
        total = max(len(document_tokens), 1)
        index.idf = {token: math.log(1 + total / count) for token, count in counts.items()}
        index.vocabulary = sorted(t for t in vocabulary if len(t) >= 3)
        return index

    # -- analysis ----------------------------------------------------------------------------
    def _correct(self, tokens: list[str]) -> list[str]:
        known = self._index.idf
        out: list[str] = []
        for token in tokens:
            if len(token) < 4 or token in known or token in self.normaliser.stopwords or token.isdigit():
                out.append(token)
                continue
            found = process.extractOne(
                token, self._index.vocabulary, scorer=fuzz.ratio, score_cutoff=self.config.typo_cutoff
            )
            out.append(found[0] if found else token)
        return out

    def analyse(self, text: str) -> tuple[str, list[str]]:
        tokens = self._correct(self.normaliser.tokens(text))
        return " ".join(tokens), self.normaliser.content(tokens)

    def _split_programmes(self, normalised: str) -> tuple[frozenset[str], str]:
        found: set[str] = set()
        remaining = f" {normalised} "
        for alias, programme_id in self._aliases:
            needle = f" {alias} "
            if needle in remaining:
                found.add(programme_id)
                remaining = remaining.replace(needle, " | ")
        return frozenset(found), " ".join(remaining.replace("|", " ").split())

    def programmes_in(self, normalised: str) -> frozenset[str]:
        return self._split_programmes(normalised)[0]

    def without_programmes(self, normalised: str) -> str:
        return self._split_programmes(normalised)[1]

    def topics_in(self, normalised: str) -> frozenset[str]:
        return frozenset(
            topic for topic, cues in self._cues.items() if any(contains_phrase(normalised, c) for c in cues)
        )

    def is_follow_up(self, normalised: str, content: Sequence[str]) -> bool:
        return len(content) <= 4 or any(contains_phrase(normalised, cue) for cue in self._follow_up)

    # -- scoring -----------------------------------------------------------------------------
    def _overlap(self, query: frozenset[str], phrasing: frozenset[str]) -> float:
        idf = self._index.idf
        if not query or not phrasing:
            return 0.0
        shared = sum(idf.get(t, 0.0) for t in query & phrasing)
        q_weight = sum(idf.get(t, 1.5) for t in query)
        p_weight = sum(idf.get(t, 0.0) for t in phrasing)
        if q_weight == 0 or p_weight == 0:
            return 0.0
        return 100.0 * shared / math.sqrt(q_weight * p_weight)

    def match(self, text: str, context_programme: str | None = None) -> MatchResult:
        normalised, content = self.analyse(text)
        if not content or not self._entries:
            return MatchResult("unknown")
        cfg = self.config
        programmes, neutral_text = self._split_programmes(normalised)
        topics = self.topics_in(normalised)
        used_context = False
        if not programmes and context_programme and self.is_follow_up(normalised, content):
            used_context = True

        query = " ".join(content)
        neutral = self.normaliser.content(neutral_text.split())
        phrasings = self._index.phrasings
        full_scores = process.cdist(
            [query], [p.content for p in phrasings], scorer=fuzz.token_sort_ratio, workers=1
        )[0]
        neutral_scores = process.cdist(
            [" ".join(neutral)], [p.neutral for p in phrasings], scorer=fuzz.token_sort_ratio, workers=1
        )[0]
        query_tokens, neutral_tokens = frozenset(content), frozenset(neutral)
        # Comparing without programme names only makes sense once we know which programme is meant.
        use_neutral = bool(programmes) or used_context
        w = cfg.fuzzy_weight
        best: dict[int, float] = defaultdict(float)
        for phrasing, full, part in zip(phrasings, full_scores, neutral_scores, strict=True):
            blended = max(
                w * float(full) + (1 - w) * self._overlap(query_tokens, phrasing.tokens),
                w * float(part) + (1 - w) * self._overlap(neutral_tokens, phrasing.neutral_tokens)
                if use_neutral and neutral_tokens and phrasing.neutral_tokens
                else 0.0,
            )
            if blended > best[phrasing.entry_index]:
                best[phrasing.entry_index] = blended

        scored: list[Candidate] = []
        for entry_index, base in best.items():
            entry = self._entries[entry_index]
            score = base
            if programmes:
                if entry.programme in programmes:
                    score += cfg.programme_bonus
                elif entry.programme is not None:
                    score -= cfg.programme_penalty
                else:
                    score -= cfg.general_penalty
            elif used_context:
                # A follow-up ("how long does it take?") is about the programme discussed last.
                if entry.programme == context_programme:
                    score += cfg.programme_bonus
                elif entry.programme is not None:
                    score -= cfg.programme_penalty
            if topics:
                score += cfg.topic_bonus if entry.topic in topics else -cfg.topic_penalty
            scored.append(Candidate(entry, score))
        scored.sort(key=lambda c: -c.score)
        return self._decide(scored, programmes, topics, used_context)

    def _decide(
        self,
        scored: list[Candidate],
        programmes: frozenset[str],
        topics: frozenset[str],
        used_context: bool,
    ) -> MatchResult:
        cfg = self.config
        top = scored[0]
        if top.score < cfg.suggest_threshold:
            return MatchResult("unknown", tuple(scored[:3]), programmes, topics, used_context)
        close = [c for c in scored[1:] if c.score >= top.score - cfg.suggest_window]
        if top.score >= cfg.answer_threshold and (
            not close or close[0].score < top.score - cfg.ambiguity_margin
        ):
            return MatchResult("answer", tuple(scored[:3]), programmes, topics, used_context)
        options = [top, *[c for c in close if c.score >= cfg.suggest_threshold]][: cfg.max_choices]
        return MatchResult("ambiguous", tuple(options), programmes, topics, used_context)

    def entries(self) -> Iterable[FaqEntry]:
        return iter(self._entries)
