"""Test helpers: a conversation that reads as a script (user says -> bot replies)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from bot.engine import Engine
from bot.messages import ConversationKey, Inbound, Reply


@dataclass
class Conversation:
    engine: Engine
    key: ConversationKey = field(
        default_factory=lambda: ConversationKey("web", "", "user-1", f"conv-{uuid.uuid4().hex[:8]}")
    )
    last: list[Reply] = field(default_factory=list)

    async def say(self, text: str | None) -> list[Reply]:
        self.last = await self.engine.handle(Inbound(key=self.key, text=text))
        return self.last

    async def press(self, value: str) -> list[Reply]:
        self.last = await self.engine.handle(Inbound(key=self.key, action=value))
        return self.last

    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    def choice_values(self) -> list[str]:
        return [c.value for r in self.last for c in r.choices]

    def answered(self) -> str | None:
        return next((r.faq_id for r in self.last if r.kind == "answer"), None)


def fixed_today(day: dt.date):  # type: ignore[no-untyped-def]
    return lambda: day
