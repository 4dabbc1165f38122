"""Test helpers: a conversation that reads as a script (user says -> bot replies)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from bot.clock import ManualClock
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
        self._a_moment_later()
        self.last = await self.engine.handle(Inbound(key=self.key, text=text))
        return self.last

    async def press(self, value: str) -> list[Reply]:
        self._a_moment_later()
        self.last = await self.engine.handle(Inbound(key=self.key, action=value))
        return self.last

    def _a_moment_later(self) -> None:
        """People type one message after another: a test clock moves on a second before each."""
        clock = self.engine.store.clock
        if isinstance(clock, ManualClock):
            clock.advance(seconds=1)

    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    def choice_values(self) -> list[str]:
        return [c.value for r in self.last for c in r.choices]

    def answered(self) -> str | None:
        return next((r.faq_id for r in self.last if r.kind == "answer"), None)


def midday(day: dt.date) -> dt.datetime:
    """Noon UTC on `day`: the same date in England in every season."""
    return dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=dt.UTC)
