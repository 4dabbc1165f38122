"""FAQ matcher: normalise the question, score every FAQ entry, then answer, disambiguate or refuse.

An entry's score blends three views of the question's word stems against the entry's phrasings:
- coverage: how much of the question's meaning (IDF-weighted) the entry's vocabulary covers — low
  coverage is what makes out-of-scope questions fall back. A word no entry uses counts by how
  informative it is in general English: "sorry" or "basically" barely, "maternity" or "Ofsted" fully;
- best phrasing: IDF-weighted cosine with the closest phrasing;
- fuzzy: rapidfuzz token-sort similarity with the closest phrasing (word order, leftovers of typos).
A naive Bayes classifier trained on all the phrasings (word stems and pairs of neighbouring stems)
then adds up to `classifier_weight` points in proportion to its belief in each entry: the similarity
views judge whether the question is in scope at all, the classifier which entry it is, because it
weighs a word by how consistently an entry's phrasings use it rather than by one chance occurrence.
Last, structure nudges the score: the programme the question names (or the one discussed last, for
follow-ups) and topic cue words. Thresholds on the result decide answer / "did you mean" / refuse.

Follow-ups (`DialogueContext`: the last answer's programme, topic and entry): a message naming only a
programme ("and the specialist one?") asks the last topic about it, answered from that programme's
entries on the topic; one whose "it" points back keeps to the last programme's entries; in any
follow-up a topic cue counts for more, as it is most of what a short message says.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import snowballstemmer
from numpy.typing import NDArray
from rapidfuzz import fuzz, process
from spellchecker import SpellChecker

from bot.normalise import Normaliser, contains_phrase
from knowledge.loader import Knowledge
from knowledge.models import FaqEntry

Outcome = Literal["answer", "ambiguous", "unknown"]
Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class MatcherConfig:
    answer_threshold: float = 77.0
    suggest_threshold: float = 77.0
    ambiguity_margin: float = 1.5
    suggest_window: float = 10.0
    related_window: float = 15.0  # runners-up this close to an answer are offered after it
    max_choices: int = 3
    coverage_weight: float = 0.4
    cosine_weight: float = 0.4
    fuzzy_weight: float = 0.2
    programme_bonus: float = 10.0
    programme_penalty: float = 20.0
    context_penalty: float = 100.0  # another programme's entry, when "it" points at the last one
    general_penalty: float = 5.0
    general_bonus: float = 4.0
    topic_bonus: float = 6.0
    # In a follow-up the message is short, so a topic cue is most of what it says.
    context_topic_bonus: float = 12.0
    context_general_penalty: float = 10.0  # a general entry, when "it" points at the last programme
    typo_cutoff: float = 82.0
    fuzzy_shortlist: int = 10
    classifier_weight: float = 30.0
    classifier_smoothing: float = 0.3  # additive (Laplace) smoothing of the feature counts
    classifier_temperature: float = 2.0  # > 1 softens the posterior, which is overconfident
    # Rarity of an unknown word in general English, as ln(corpus size / count): at or below
    # `common_rarity` it does not count against a match, from `rare_rarity` up it counts in full.
    common_rarity: float = 7.0
    rare_rarity: float = 12.0


@dataclass(frozen=True)
class DialogueContext:
    """What the conversation was about: the slots a follow-up may leave out."""

    programme: str | None = None  # the programme of the last answer about a programme
    topic: str | None = None  # the topic of the last answer (cost, time, eligibility ...)
    entry: FaqEntry | None = None  # the last answer itself


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
    carried_topic: str | None = None  # the topic kept from the last answer ("and the specialist one?")

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def runners_up(self) -> tuple[Candidate, ...]:
        """For an answer: the other entries that came close enough to offer as related questions."""
        return self.candidates[1:] if self.outcome == "answer" else ()


# Far more than any question needs (the longest phrasings are ~40 words): bounds the CPU one message
# can cost the event loop, whatever it contains.
MAX_TOKENS = 200
MAX_CORRECTIONS = 30
ON_TOPIC_CACHE_SIZE = 10_000  # far more than entries x programmes x topics


@functools.cache
def _english() -> SpellChecker:
    """An English dictionary (loaded once) to tell real words from typos."""
    return SpellChecker(language="en", distance=1)


def answer_text(entry: FaqEntry, today: dt.date) -> str:
    """The entry's answer as of `today`: dated answers switch once their date has passed."""
    if entry.dated is not None and today > entry.dated.date:
        return entry.dated.answer_after
    return entry.answer


class _View:
    """Phrasings of every entry as sets of stems, stored stem-major so a question reads only its rows.

    `present[stem, phrasing]` and `docs[stem, entry]` are 0/1 bytes: dense, but a byte per cell keeps
    a few thousand phrasings in a few megabytes.
    """

    def __init__(
        self, stems: list[list[str]], owners: NDArray[np.intp], vocab: dict[str, int], idf: Matrix
    ) -> None:
        self.text = [" ".join(s) for s in stems]
        n_entries = int(owners.max()) + 1 if len(owners) else 0
        self.present = np.zeros((len(vocab), len(stems)), dtype=np.uint8)
        self.docs = np.zeros((len(vocab), n_entries), dtype=np.uint8)
        for i, phrasing in enumerate(stems):
            columns = [vocab[stem] for stem in phrasing]
            self.present[columns, i] = 1
            self.docs[columns, owners[i]] = 1
        self.norms = np.sqrt(idf**2 @ self.present)
        self.norms[self.norms == 0] = 1.0


class FaqMatcher:
    def __init__(self, knowledge: Knowledge, config: MatcherConfig | None = None) -> None:
        self.knowledge = knowledge
        self.config = config or MatcherConfig()
        _english()  # loaded now (about 0.3 s), not in the middle of some teacher's first message
        self.normaliser = Normaliser(knowledge.lexicon)
        self._stemmer = snowballstemmer.stemmer("english")
        self._stem_cache: dict[str, str] = {}
        self._on_topic_cache: dict[tuple[str, str, str], list[Candidate]] = {}
        self._entries: Sequence[FaqEntry] = knowledge.faq
        self._aliases = self._programme_aliases()
        self._cues = {
            topic: tuple(self.normaliser.normalise(c) for c in cues)
            for topic, cues in knowledge.lexicon.topic_cues.items()
        }
        self._follow_up = tuple(self.normaliser.normalise(c) for c in knowledge.lexicon.follow_up_cues)
        self._carry_over = frozenset(
            word for w in knowledge.lexicon.carry_over_words for word in self.normaliser.tokens(w)
        )
        self._build_index()

    # -- index -------------------------------------------------------------------------------
    def _programme_aliases(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for programme in self.knowledge.programmes.values():
            for alias in {programme.name, programme.short_name, *programme.aliases}:
                normalised = self.normaliser.normalise(alias)
                if normalised:
                    pairs.append((normalised, programme.id))
        # Longest first, so "embedding and sustaining work group" wins over a shorter alias inside it.
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def stems(self, words: Iterable[str]) -> list[str]:
        return [self._stem(w) for w in words]

    def _stem(self, word: str) -> str:
        stem = self._stem_cache.get(word)
        if stem is None:
            stem = str(self._stemmer.stemWord(word))
            if len(self._stem_cache) < 50_000:  # bounded: users can type any words
                self._stem_cache[word] = stem
        return stem

    def _build_index(self) -> None:
        full: list[list[str]] = []
        neutral: list[list[str]] = []
        owners: list[int] = []
        words: set[str] = set()
        for entry_index, entry in enumerate(self._entries):
            for text in (entry.question, *entry.phrasings):
                tokens = self.normaliser.tokens(text)
                words.update(tokens)
                full.append(self.stems(self.normaliser.content(tokens)))
                neutral.append(
                    self.stems(self.normaliser.content(self.without_programmes(" ".join(tokens)).split()))
                )
                owners.append(entry_index)
        for alias, _ in self._aliases:
            words.update(alias.split())
        for cues in self._cues.values():
            for cue in cues:
                words.update(cue.split())
        self._words = sorted(w for w in words if len(w) >= 3)
        self._known_words = frozenset(words)

        vocab: dict[str, int] = {}
        for phrasing in full + neutral:
            for stem in phrasing:
                vocab.setdefault(stem, len(vocab))
        owner_array = np.array(owners, dtype=np.intp)
        docs = np.zeros((len(self._entries), len(vocab)))
        for row, owner in zip(full, owners, strict=True):
            for stem in row:
                docs[owner, vocab[stem]] = 1.0
        df = docs.sum(axis=0)
        n = max(len(self._entries), 1)
        idf = np.where(df > 0, np.log(1 + n / np.maximum(df, 1)), math.log(1 + n))
        self._vocab = vocab
        self._idf = idf
        self._unknown_idf = float(math.log(1 + n))  # the most a word no entry uses can weigh: the rarest
        self._owners = owner_array
        self._full = _View(full, owner_array, vocab, idf)
        self._neutral = _View(neutral, owner_array, vocab, idf)
        # Phrasings are stored entry by entry; reduceat needs where each entry's rows start.
        self._starts = np.flatnonzero(np.r_[True, owner_array[1:] != owner_array[:-1]])
        self._rows = [np.flatnonzero(owner_array == i) for i in range(len(self._entries))]
        self._build_classifier(full, owners)

    @staticmethod
    def _features(stems: Sequence[str]) -> set[str]:
        return {*stems, *(f"{a} {b}" for a, b in itertools.pairwise(stems))}

    def _build_classifier(self, phrasings: list[list[str]], owners: list[int]) -> None:
        """Multinomial naive Bayes over binary stem and stem-pair features, one class per entry."""
        features: dict[str, int] = {}
        rows = [self._features(stems) for stems in phrasings]
        for row in rows:
            for feature in row:
                features.setdefault(feature, len(features))
        counts = np.zeros((len(self._entries), len(features)))
        for owner, row in zip(owners, rows, strict=True):
            counts[owner, [features[f] for f in row]] += 1.0
        alpha = self.config.classifier_smoothing
        totals = counts.sum(axis=1, keepdims=True) + alpha * max(len(features), 1)
        self._features_index = features
        self._log_likelihood = np.log((counts + alpha) / totals).astype(np.float32)

    def _posterior(self, stems: Sequence[str]) -> NDArray[np.float64]:
        """The classifier's belief in each entry (sums to 1), or all zeros when no feature is known."""
        columns = [self._features_index[f] for f in self._features(stems) if f in self._features_index]
        if not columns or not self._entries:
            return np.zeros(len(self._entries))
        log_joint = self._log_likelihood[:, columns].sum(axis=1, dtype=np.float64)
        log_joint /= self.config.classifier_temperature
        belief: NDArray[np.float64] = np.exp(log_joint - log_joint.max())
        belief /= belief.sum()
        return belief

    # -- analysis ----------------------------------------------------------------------------
    def _correct(self, tokens: list[str]) -> list[str]:
        """Fix typos of FAQ words ("specalist"); real English words ("lunch") are left alone."""
        out: list[str] = []
        tries = 0
        for token in tokens:
            if (
                tries >= MAX_CORRECTIONS
                or len(token) < 4
                or token in self._known_words
                or token in self.normaliser.stopwords
                or not token.isalpha()
                or token in _english().known([token])
            ):
                out.append(token)
                continue
            tries += 1
            found = process.extractOne(
                token, self._words, scorer=fuzz.ratio, score_cutoff=self.config.typo_cutoff
            )
            out.append(found[0] if found else token)
        return out

    def analyse(self, text: str) -> tuple[str, list[str]]:
        # Bounded work per message: a question is read from its first MAX_TOKENS words, and typo
        # correction (the costly part for unknown words) stops after MAX_CORRECTIONS tries.
        tokens = self._correct(self.normaliser.tokens(text)[:MAX_TOKENS])
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

    def programmes_in_order(self, normalised: str) -> list[str]:
        """The programmes a text names, in the order it names them."""
        first: dict[str, int] = {}
        remaining = f" {normalised} "
        for alias, programme_id in self._aliases:
            at = remaining.find(f" {alias} ")
            if at >= 0:
                first[programme_id] = min(at, first.get(programme_id, at))
                remaining = remaining.replace(f" {alias} ", " | ")
        return sorted(first, key=first.__getitem__)

    def programmes_in(self, normalised: str) -> frozenset[str]:
        return self._split_programmes(normalised)[0]

    def without_programmes(self, normalised: str) -> str:
        return self._split_programmes(normalised)[1]

    def topics_in(self, normalised: str) -> frozenset[str]:
        return frozenset(
            topic for topic, cues in self._cues.items() if any(contains_phrase(normalised, c) for c in cues)
        )

    def is_follow_up(self, normalised: str, content: Sequence[str]) -> bool:
        return len(content) <= 4 or self.refers_back(normalised)

    def refers_back(self, normalised: str) -> bool:
        """Words such as "it" or "that one" that point at what was discussed last."""
        return any(contains_phrase(normalised, cue) for cue in self._follow_up)

    def only_carry_over(self, neutral_text: str) -> bool:
        """True when nothing but words like "and", "what about", "the … one" is left once the
        programme names are taken out: the message changes the programme and nothing else."""
        return all(word in self._carry_over for word in neutral_text.split())

    # -- scoring -----------------------------------------------------------------------------
    def _unknown_weight(self, word: str) -> float:
        """How much a word no FAQ entry uses should count against a match (0 to the rarest idf)."""
        cfg = self.config
        frequency = _english().word_frequency
        rarity = math.log(frequency.total_words / (frequency[word] + 1))
        share = (rarity - cfg.common_rarity) / (cfg.rare_rarity - cfg.common_rarity)
        return self._unknown_idf * min(1.0, max(0.0, share))

    def _view_scores(self, view: _View, words: Sequence[str]) -> NDArray[np.float64]:
        """Per-entry base score (0–100) of the question's content words against one view of the phrasings."""
        cfg = self.config
        stems = self.stems(words)
        known = sorted({self._vocab[s] for s in stems if s in self._vocab})
        unknown_words = {s: w for w, s in zip(words, stems, strict=True) if s not in self._vocab}
        unknown = np.array([self._unknown_weight(w) for w in unknown_words.values()])
        idf = self._idf[known]
        q_weight = float(idf.sum()) + float(unknown.sum())
        q_norm = math.sqrt(float((idf**2).sum()) + float((unknown**2).sum()))
        if q_weight == 0:
            return np.zeros(len(self._entries))
        # Only the question's own columns matter: sum those instead of multiplying whole matrices.
        coverage = (idf @ view.docs[known]) / q_weight
        cosine = np.maximum.reduceat((idf**2 @ view.present[known]) / (view.norms * q_norm), self._starts)
        lexical = cfg.coverage_weight * coverage + cfg.cosine_weight * cosine
        # Fuzzy similarity refines the ranking among the entries already close on words; scoring every
        # phrasing would cost most of the time for entries that cannot win.
        shortlist = np.argsort(-lexical)[: cfg.fuzzy_shortlist]
        rows = np.concatenate([self._rows[i] for i in shortlist])
        fuzzy = process.cdist(
            [" ".join(stems)], [view.text[r] for r in rows], scorer=fuzz.token_sort_ratio, workers=1
        )[0]
        fuzzy_best = np.zeros(len(self._entries))
        np.maximum.at(fuzzy_best, self._owners[rows], fuzzy.astype(np.float64) / 100.0)
        return 100.0 * (lexical + cfg.fuzzy_weight * fuzzy_best)

    def match(
        self,
        text: str,
        context_programme: str | None = None,
        context: DialogueContext | None = None,
    ) -> MatchResult:
        """Score `text` against every entry. `context` (or just `context_programme`) is what the
        conversation was about, for follow-ups that leave the programme or the topic out."""
        if context is None:
            context = DialogueContext(programme=context_programme)
        normalised, content = self.analyse(text)
        if not content or not self._entries:
            return MatchResult("unknown")
        programmes, neutral_text = self._split_programmes(normalised)
        topics = self.topics_in(normalised)
        only_a_programme = len(programmes) == 1 and not topics and self.only_carry_over(neutral_text)
        if only_a_programme and context.topic is not None:  # "what about the specialist one?"
            (programme,) = programmes
            return self._carry_topic(programme, context.topic, context.entry)
        referring = self.refers_back(normalised)
        used_context = (
            not programmes and context.programme is not None and self.is_follow_up(normalised, content)
        )
        focus = programmes or (
            frozenset({context.programme}) if used_context and context.programme else frozenset()
        )
        adjusted = self._ranked(
            content,
            neutral_text,
            focus,
            programmes,
            topics,
            follow_up=used_context,
            # "how long does it last?" right after a programme: "it" is that programme, not another.
            strong_context=used_context and referring,
        )
        return self._decide(adjusted, programmes, topics, used_context)

    def _ranked(
        self,
        content: Sequence[str],
        neutral_text: str,
        focus: frozenset[str],
        programmes: frozenset[str],
        topics: frozenset[str],
        follow_up: bool = False,
        strong_context: bool = False,
    ) -> list[Candidate]:
        cfg = self.config
        scores = self._view_scores(self._full, content) if content else np.zeros(len(self._entries))
        neutral = self.normaliser.content(neutral_text.split())
        if focus and neutral:
            # For the programme meant, compare what is asked with the programme names taken out.
            in_focus = np.array([e.programme in focus for e in self._entries])
            scores = np.where(in_focus, np.maximum(scores, self._view_scores(self._neutral, neutral)), scores)
        if content:
            scores = scores + cfg.classifier_weight * self._posterior(self.stems(content))

        adjusted: list[Candidate] = []
        for entry, base in zip(self._entries, scores.tolist(), strict=True):
            score = base
            if focus:
                if entry.programme in focus:
                    score += cfg.programme_bonus
                elif entry.programme is not None:
                    score -= cfg.context_penalty if strong_context else cfg.programme_penalty
                elif strong_context:
                    score -= cfg.context_general_penalty
                elif programmes:  # named a programme, so a general entry is less likely
                    score -= cfg.general_penalty
            elif entry.programme is None:  # named none, so it is likelier about them all
                score += cfg.general_bonus
            if topics and entry.topic in topics:
                score += cfg.context_topic_bonus if follow_up else cfg.topic_bonus
            adjusted.append(Candidate(entry, score))
        adjusted.sort(key=lambda c: -c.score)  # stable: on a tie the entry written first wins
        return adjusted

    def _carry_topic(self, programme: str, topic: str, previous: FaqEntry | None) -> MatchResult:
        """A follow-up naming only a programme asks the last question's topic about that programme:
        of that programme's entries on the topic, the one closest to the last answer's question."""
        programmes, topics = frozenset({programme}), frozenset({topic})
        ranked = self.on_topic(programme, topic, previous.question if previous is not None else "")
        if not ranked:
            return MatchResult("unknown", (), programmes, topics, used_context=True, carried_topic=topic)
        best, window = ranked[0], self.config.related_window
        related = [c for c in ranked[1 : self.config.max_choices] if c.score >= best.score - window]
        return MatchResult(
            "answer", (best, *related), programmes, topics, used_context=True, carried_topic=topic
        )

    def on_topic(self, programme: str, topic: str, wording: str) -> list[Candidate]:
        """A programme's entries on a topic, the closest to `wording` first (programme names in it
        are ignored; with nothing to go on, the entry written first wins). Empty when it has none.

        The wordings come from the knowledge (an entry's question, a comparison aspect), so the
        answers are kept: a comparison asks for ten of them at once."""
        key = (programme, topic, wording)
        cached = self._on_topic_cache.get(key)
        if cached is None:
            cached = self._on_topic(programme, topic, wording)
            if len(self._on_topic_cache) < ON_TOPIC_CACHE_SIZE:
                self._on_topic_cache[key] = cached
        return list(cached)

    def _on_topic(self, programme: str, topic: str, wording: str) -> list[Candidate]:
        on_topic = {e.id for e in self._entries if e.programme == programme and e.topic == topic}
        if not on_topic:
            return []
        neutral_text = self.without_programmes(self.analyse(wording)[0])
        neutral = self.normaliser.content(neutral_text.split())
        focus = frozenset({programme})
        ranked = self._ranked(neutral, neutral_text, focus, focus, frozenset({topic}))
        return [c for c in ranked if c.entry.id in on_topic]

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
            floor = max(cfg.suggest_threshold, top.score - cfg.related_window)
            related = [c for c in scored[1 : cfg.max_choices] if c.score >= floor]
            return MatchResult("answer", (top, *related), programmes, topics, used_context)
        options = [top, *[c for c in close if c.score >= cfg.suggest_threshold]][: cfg.max_choices]
        return MatchResult("ambiguous", tuple(options), programmes, topics, used_context)

    def entries(self) -> Iterable[FaqEntry]:
        return iter(self._entries)
