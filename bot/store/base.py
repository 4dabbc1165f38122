"""The one storage interface every backend implements, and the records the engine asks it to keep."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.clock import Clock
from bot.messages import ConversationKey

if TYPE_CHECKING:
    from bot.store.tickets import TicketSink


@dataclass(frozen=True)
class FeedbackRecord:
    faq_id: str
    helpful: bool
    question: str | None


@dataclass(frozen=True)
class UnansweredRecord:
    question: str
    normalised: str


@dataclass(frozen=True)
class PickRecord:
    """A "did you mean" choice the user picked: their (masked) wording is a candidate phrasing of `faq_id`."""

    faq_id: str
    question: str
    normalised: str


Record = FeedbackRecord | UnansweredRecord | PickRecord


@dataclass
class ConversationSlot:
    """A conversation held under its lock: read `state`, then `save` and `record` before leaving."""

    key: ConversationKey
    state: dict[str, Any] | None
    now: dt.datetime  # this message's moment, from the store's clock: every time written for it
    new_state: dict[str, Any] | None = None
    records: list[Record] = field(default_factory=list)
    # Enquiry tickets written in this same transaction (None where the backend has no tickets).
    tickets: TicketSink | None = None

    def save(self, state: dict[str, Any]) -> None:
        self.new_state = state

    def record(self, record: Record) -> None:
        self.records.append(record)


@dataclass(frozen=True)
class UnansweredSummary:
    question: str
    count: int
    last_seen: dt.datetime


@dataclass(frozen=True)
class FeedbackSummary:
    faq_id: str
    helpful: int
    not_helpful: int


SignalKind = Literal["pick", "thumbs_down", "unanswered"]


@dataclass(frozen=True)
class SignalSummary:
    """Identical (masked) wordings of one learning signal, counted (see bot/suggestions.py)."""

    kind: SignalKind
    faq_id: str | None  # the entry picked (pick), the entry given a thumbs down, None when unanswered
    question: str
    count: int
    first_seen: dt.datetime
    last_seen: dt.datetime


TranscriptRole = Literal["user", "bot"]


@dataclass(frozen=True)
class TranscriptEntry:
    """One message of a web chat as the page showed it: the user's words or the bot's rendered reply."""

    role: TranscriptRole
    body: dict[str, Any]
    created_at: dt.datetime | None = None  # set by the store when it is written


@dataclass(frozen=True)
class SuggestionReview:
    """A knowledge author's decision on one suggestion."""

    id: str
    kind: str
    status: Literal["accepted", "rejected"]
    faq_id: str | None  # where the wording was added (accepted)
    wording: str | None
    decided_at: dt.datetime


class Store(Protocol):
    clock: Clock  # the one clock: conversations, records, tickets and deliveries read it

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    def conversation(self, key: ConversationKey) -> AbstractAsyncContextManager[ConversationSlot]:
        """Hold the conversation exclusively (across processes where the backend can), load, then save."""
        ...

    async def unanswered(self, limit: int = 50) -> list[UnansweredSummary]: ...

    async def feedback(self) -> list[FeedbackSummary]: ...

    async def signals(self) -> list[SignalSummary]:
        """Every "did you mean" pick, thumbs down with its question, and unanswered question, counted."""
        ...

    async def reviews(self) -> dict[str, SuggestionReview]: ...

    async def save_review(self, review: SuggestionReview) -> None:
        """Insert or replace the decision on suggestion `review.id`."""
        ...

    async def erase_user(self, user_ref: str) -> int:
        """Delete every conversation of `user_ref` (and its transcripts); returns how many rows went."""
        ...

    async def add_transcript(self, key: ConversationKey, entries: list[TranscriptEntry]) -> None:
        """Append `entries`, in order, to the transcript of conversation `key` (one transaction)."""
        ...

    async def transcript(self, key: ConversationKey, limit: int = 100) -> list[TranscriptEntry]:
        """The last `limit` entries of conversation `key`'s transcript, oldest first (only that key's)."""
        ...

    async def claim_event(self, source: str, event_id: str) -> bool:
        """True the first time any process claims (`source`, `event_id`), False ever after.

        Front ends call it before acting on a platform event that may be delivered more than once
        (Slack retries, two processes behind one URL).
        """
        ...
