"""Learning from use: turn what users did into suggestions a knowledge author reviews.

Signals (recorded by the engine, masked before storing, no user ids):
- pick: the user asked something, got "Did you mean…" and picked an entry — their wording is a
  candidate phrasing of that entry. Grouped by (entry, normalised wording).
- thumbs_down: a 👎 on an answer, with the question asked — review that entry; the wording may belong
  to a better one. Grouped by (entry, normalised wording).
- unanswered: questions the bot could not answer (or "none of these"). Clustered when listed: two
  wordings whose normalised text scores at least `threshold` (rapidfuzz token_set_ratio) against the
  cluster's first wording are one row, with a count.

Suggestion ids are derived from the signals (kind, entry, the first wording seen), so they stay the
same from one listing to the next; decisions (accepted / rejected) are kept in the `suggestions`
table. Accepting adds a phrasing to knowledge/data/faq.yaml (or KNOWLEDGE_DIR) with knowledge/editor.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TextIO

from rapidfuzz import fuzz, process

from bot.normalise import Normaliser
from bot.privacy import has_placeholder
from bot.store.base import SignalKind, SignalSummary, Store, SuggestionReview
from knowledge.editor import add_phrasing, clean_phrasing
from knowledge.loader import Knowledge

DEFAULT_THRESHOLD = 80.0
# token_set_ratio scores 100 whenever one wording's words are all in the other, so a short wording
# ("is it free") would swallow every longer question using its words: the numbers of content words
# (stopwords left out) must be comparable too.
MIN_LENGTH_RATIO = 0.5
Status = Literal["open", "accepted", "rejected", "known"]
KIND_PREFIX: dict[SignalKind, str] = {"pick": "p", "thumbs_down": "d", "unanswered": "u"}
KIND_LABEL: dict[SignalKind, str] = {
    "pick": "picked from 'did you mean'",
    "thumbs_down": "thumbs down",
    "unanswered": "unanswered",
}
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Suggestion:
    id: str
    kind: SignalKind
    faq_id: str | None  # the entry picked / given a thumbs down; None for unanswered questions
    wording: str  # the wording proposed as a phrasing (the most frequent one without a placeholder)
    count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    wordings: tuple[tuple[str, int], ...]  # every wording in this row with its count, most frequent first
    status: Status = "open"
    decided_faq: str | None = None  # where it was added (accepted), or the entry already phrasing it (known)

    @property
    def action(self) -> str:
        if self.kind == "pick":
            return f"add the wording to {self.faq_id}"
        if self.kind == "thumbs_down":
            return f"review {self.faq_id}; accept with --faq to move the wording to a better entry"
        return "accept with --faq ENTRY to add the wording to that entry"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    problems: tuple[str, ...] = ()


def simple_key(text: str) -> str:
    """A lexicon-independent key for a wording (ids must not move when the lexicon changes)."""
    return " ".join(_WORDS.findall(text.lower()))


def suggestion_id(kind: SignalKind, faq_id: str | None, anchor: str) -> str:
    digest = hashlib.sha256(f"{kind}\0{faq_id or ''}\0{simple_key(anchor)}".encode()).hexdigest()
    return f"{KIND_PREFIX[kind]}-{digest[:8]}"


@dataclass
class _Group:
    kind: SignalKind
    faq_id: str | None
    normalised: str
    size: int  # content words (or all words, when every word is a stopword)
    members: list[SignalSummary]

    @property
    def first_seen(self) -> dt.datetime:
        return min(m.first_seen for m in self.members)

    def anchor(self) -> str:
        """The wording seen first: it names the row for good (later wordings only add to the count)."""
        return min(self.members, key=lambda m: (m.first_seen, simple_key(m.question))).question


def _as_suggestion(group: _Group, anchor: str) -> Suggestion:
    counts: dict[str, int] = {}
    first: dict[str, dt.datetime] = {}
    for member in group.members:
        text = clean_phrasing(member.question)
        counts[text] = counts.get(text, 0) + member.count
        first[text] = min(first.get(text, member.first_seen), member.first_seen)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], first[item[0]], item[0]))
    clean = [text for text, _ in ranked if not has_placeholder(text)]
    return Suggestion(
        id=suggestion_id(group.kind, group.faq_id, anchor),
        kind=group.kind,
        faq_id=group.faq_id,
        wording=clean[0] if clean else ranked[0][0],
        count=sum(counts.values()),
        first_seen=group.first_seen,
        last_seen=max(m.last_seen for m in group.members),
        wordings=tuple(ranked),
    )


def _closest(group: _Group, anchors: Sequence[_Group], threshold: float) -> int | None:
    """The index of the most similar anchor scoring at least `threshold`, if any."""
    if not group.normalised or not anchors:
        return None
    texts = [a.normalised for a in anchors]
    scores = process.cdist([group.normalised], texts, scorer=fuzz.token_set_ratio, workers=1)[0].tolist()
    best: int | None = None
    for index, score in enumerate(scores):
        sizes = sorted((group.size, anchors[index].size))
        if score < threshold or sizes[1] == 0 or sizes[0] / sizes[1] < MIN_LENGTH_RATIO:
            continue
        if best is None or score > scores[best]:
            best = index
    return best


def build_suggestions(
    signals: Iterable[SignalSummary],
    knowledge: Knowledge,
    reviews: dict[str, SuggestionReview] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Suggestion]:
    """Group the signals into suggestions, mark decisions and wordings already known, rank by count."""
    normaliser = Normaliser(knowledge.lexicon)
    normalise = normaliser.normalise
    groups: dict[tuple[SignalKind, str | None, str], _Group] = {}
    for signal in signals:
        if signal.kind == "thumbs_down" and signal.faq_id not in knowledge.faq_by_id:
            continue  # an entry that has since been removed: nothing left to review
        normalised = normalise(signal.question)
        key = (signal.kind, signal.faq_id, normalised)
        if key not in groups:
            words = normalised.split()
            size = len(normaliser.content(words)) or len(words)
            groups[key] = _Group(signal.kind, signal.faq_id, normalised, size, [])
        groups[key].members.append(signal)

    out: list[Suggestion] = []
    clusters: list[_Group] = []
    for group in sorted(groups.values(), key=lambda g: (g.first_seen, g.normalised)):
        if group.kind != "unanswered":
            out.append(_as_suggestion(group, group.anchor()))
            continue
        # Leader clustering, oldest first: a wording joins the first cluster whose first wording is
        # similar enough, so existing rows (and their ids) never change when new wordings arrive.
        best = _closest(group, clusters, threshold)
        if best is None:
            clusters.append(group)
        else:
            clusters[best].members.extend(group.members)
    out.extend(_as_suggestion(c, c.anchor()) for c in clusters)

    owners = {
        normalise(text): entry.id for entry in knowledge.faq for text in (entry.question, *entry.phrasings)
    }
    reviews = reviews or {}
    marked: list[Suggestion] = []
    for suggestion in out:
        review = reviews.get(suggestion.id)
        owner = owners.get(normalise(suggestion.wording))
        if review is not None:
            suggestion = replace(suggestion, status=review.status, decided_faq=review.faq_id)
        elif owner is not None and (suggestion.kind != "thumbs_down" or owner != suggestion.faq_id):
            # Already a phrasing (an author added it by hand, or accepted a twin): nothing to do.
            # A thumbs down on an entry's own phrasing stays open: the answer itself needs a look.
            suggestion = replace(suggestion, status="known", decided_faq=owner)
        marked.append(suggestion)
    marked.sort(key=lambda s: (-s.count, -s.last_seen.timestamp(), s.id))
    return marked


async def list_suggestions(
    store: Store, knowledge: Knowledge, threshold: float = DEFAULT_THRESHOLD, *, everything: bool = False
) -> list[Suggestion]:
    """Open suggestions ranked by count (with `everything`, accepted, rejected and known ones too)."""
    suggestions = build_suggestions(await store.signals(), knowledge, await store.reviews(), threshold)
    return suggestions if everything else [s for s in suggestions if s.status == "open"]


async def _find(
    store: Store, knowledge: Knowledge, suggestion_id: str, threshold: float
) -> Suggestion | Outcome:
    wanted = suggestion_id.strip().lower()
    for suggestion in await list_suggestions(store, knowledge, threshold, everything=True):
        if suggestion.id == wanted:
            return suggestion
    return Outcome(
        False, f"no suggestion '{suggestion_id}' (list them with `python -m bot suggestions --all`)"
    )


def _unknown_entry(knowledge: Knowledge, faq_id: str) -> Outcome:
    close = process.extract(faq_id, list(knowledge.faq_by_id), scorer=fuzz.ratio, limit=3, score_cutoff=60)
    hint = f"; did you mean {', '.join(c[0] for c in close)}?" if close else ""
    return Outcome(False, f"there is no FAQ entry '{faq_id}'{hint}")


async def accept(
    store: Store,
    knowledge: Knowledge,
    suggestion_id: str,
    *,
    faq_id: str | None = None,
    text: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Outcome:
    """Add the suggestion's wording (or `text`) as a phrasing of its entry (or `faq_id`) in the knowledge
    directory, re-validate, and record the decision. The file is left untouched on any refusal."""
    found = await _find(store, knowledge, suggestion_id, threshold)
    if isinstance(found, Outcome):
        return found
    if found.status == "accepted":
        return Outcome(True, f"{found.id} was already accepted (added to {found.decided_faq})")
    target = faq_id or (found.faq_id if found.kind == "pick" else None)
    if target is None:
        if found.kind == "thumbs_down":
            return Outcome(
                False,
                f"{found.id} is a thumbs down on {found.faq_id}: review that entry's answer; to attach the "
                "wording to a better entry, accept with --faq ENTRY; otherwise reject it",
            )
        return Outcome(
            False, f"{found.id} is an unanswered question: say which entry it belongs to with --faq ENTRY"
        )
    if target not in knowledge.faq_by_id:
        return _unknown_entry(knowledge, target)
    wording = clean_phrasing(text) if text is not None else found.wording
    if has_placeholder(wording):
        return Outcome(
            False,
            f"'{wording}' still has a masked placeholder; give the wording to add with --text \"...\"",
        )
    result = add_phrasing(knowledge.directory, target, wording)
    if not result.ok:
        return Outcome(False, result.message, tuple(str(p) for p in result.problems))
    decided = store.clock.now()
    await store.save_review(SuggestionReview(found.id, found.kind, "accepted", target, wording, decided))
    return Outcome(True, result.message)


async def reject(
    store: Store, knowledge: Knowledge, suggestion_id: str, threshold: float = DEFAULT_THRESHOLD
) -> Outcome:
    """Hide a suggestion from the list for good (new wordings that join its row stay hidden too)."""
    found = await _find(store, knowledge, suggestion_id, threshold)
    if isinstance(found, Outcome):
        return found
    if found.status == "accepted":
        return Outcome(
            False,
            f"{found.id} was accepted into {found.decided_faq}; remove the phrasing from faq.yaml to undo it",
        )
    await store.save_review(SuggestionReview(found.id, found.kind, "rejected", None, None, store.clock.now()))
    return Outcome(True, f"{found.id} rejected; it will not be listed again")


CSV_COLUMNS = (
    "id",
    "kind",
    "status",
    "count",
    "faq_id",
    "wording",
    "other_wordings",
    "first_seen",
    "last_seen",
    "decided_faq",
)


def _cell(value: object) -> str:
    """Text for a spreadsheet cell; a leading = + - @ is neutralised so no formula ever runs."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(suggestions: Sequence[Suggestion], handle: TextIO) -> None:
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    for s in suggestions:
        others = " | ".join(f"{text} ({n})" for text, n in s.wordings if text != s.wording)
        row = (
            s.id,
            s.kind,
            s.status,
            s.count,
            s.faq_id,
            s.wording,
            others,
            s.first_seen.isoformat(timespec="seconds"),
            s.last_seen.isoformat(timespec="seconds"),
            s.decided_faq,
        )
        writer.writerow([_cell(v) for v in row])
