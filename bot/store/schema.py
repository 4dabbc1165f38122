"""Database tables (SQLAlchemy 2 declarative). Changes go through an Alembic migration in bot/migrations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "conversations"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_ref: Mapped[str] = mapped_column(String(300), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    faq_id: Mapped[str] = mapped_column(String(120), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # see privacy.py
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class UnansweredRow(Base):
    __tablename__ = "unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    normalised: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(16))
    user_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_unanswered_normalised", "normalised"),)


class PickRow(Base):
    """A "did you mean" choice a user picked: the masked question and the entry chosen (bot/suggestions)."""

    __tablename__ = "picks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    faq_id: Mapped[str] = mapped_column(String(120), index=True)
    question: Mapped[str] = mapped_column(Text)
    normalised: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(16))
    user_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class InboundEventRow(Base):
    """A platform event acknowledged to its sender and not yet fully answered (adapters/slack/app.py).

    Written inside the request, before the 200, so a crash after the acknowledgement loses nothing;
    workers claim rows under a lease as the outbox does. `replies` holds the engine's answer once it
    is known, so a worker that takes over after a crash posts it instead of asking the engine again.
    """

    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | claimed | answered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    replies: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_inbound_events_due", "source", "status", "id"),)


class SuggestionRow(Base):
    """A knowledge author's decision on a suggestion; ids derive from the signals (bot/suggestions.py)."""

    __tablename__ = "suggestions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # accepted | rejected
    faq_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    wording: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EventClaimRow(Base):
    """One row per platform event already taken by some process, so retries and duplicates are dropped."""

    __tablename__ = "event_claims"

    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

    __table_args__ = (PrimaryKeyConstraint("source", "event_id", name="pk_event_claims"),)


class TranscriptRow(Base):
    """One message of a web chat as the page showed it, so a reload can show the conversation again.

    `id` orders a conversation's messages; `body` is the user's {"text"} (and the button's "action")
    or the bot's rendered reply (adapters/web/translate.py). Erasure finds rows by `user_ref`.
    """

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(512))
    user_ref: Mapped[str] = mapped_column(String(300), index=True)
    role: Mapped[str] = mapped_column(String(8))  # user | bot
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

    __table_args__ = (Index("ix_transcripts_key_id", "key", "id"),)


# -- enquiries (bot/enquiry.py, bot/outbox.py, bot/store/tickets.py) -----------------------------


class TicketRow(Base):
    """An enquiry a teacher confirmed. Personal fields are nullable: a delivered ticket can be anonymised."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    owner_ref: Mapped[str] = mapped_column(String(300), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | failed
    hub_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    destination: Mapped[str] = mapped_column(String(200))
    manual_routing: Mapped[bool] = mapped_column(Boolean)
    routing_reason: Mapped[str] = mapped_column(String(32))
    suggested_hub_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    local_authority: Mapped[str | None] = mapped_column(String(100), nullable=True)
    school_urn: Mapped[str | None] = mapped_column(String(16), nullable=True)
    school: Mapped[str | None] = mapped_column(Text, nullable=True)
    programme: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    role: Mapped[str | None] = mapped_column(Text, nullable=True)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutboxJobRow(Base):
    """One delivery of one ticket to one channel target; claimed by a worker under a lease."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | slack | mailbox | none
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # pending | claimed | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("ticket_id", "channel", "target", name="uq_outbox_ticket_target"),
    )
