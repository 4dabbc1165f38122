"""Conversation state as saved between messages. Versioned: an old or corrupt shape resets, never crashes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.messages import Choice

STATE_VERSION = 1


class SavedChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    value: str

    @classmethod
    def of(cls, choice: Choice) -> SavedChoice:
        return cls(label=choice.label, value=choice.value)


class FlowState(BaseModel):
    """Where a multi-step flow (interview, enquiry) is. `data` holds the answers so far."""

    model_config = ConfigDict(extra="forbid")
    name: str
    step: str
    data: dict[str, Any] = Field(default_factory=dict)
    history: list[str] = Field(default_factory=list)
    started_at: dt.datetime
    updated_at: dt.datetime


class ConversationState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = STATE_VERSION
    # Slots a follow-up may leave out: the programme and the topic of the last answer, kept apart
    # ("and the specialist one?" keeps the topic, "and how much is it?" keeps the programme).
    last_programme: str | None = None
    last_topic: str | None = None
    last_faq: str | None = None
    last_question: str | None = None
    pending_question: str | None = None
    choices: list[SavedChoice] = Field(default_factory=list)
    flow: FlowState | None = None
    updated_at: dt.datetime | None = None  # set by the engine from the store's clock when saved


def parse_state(raw: dict[str, Any] | None) -> tuple[ConversationState, bool]:
    """Return the saved state, or a fresh one and True when the saved one was unusable."""
    if raw is None:
        return ConversationState(), False
    if raw.get("version") != STATE_VERSION:
        return ConversationState(), True
    try:
        return ConversationState.model_validate(raw), False
    except ValidationError:
        return ConversationState(), True
