"""The interface multi-step conversations (eligibility interview, enquiry) implement to plug into the engine.

A flow is an interpreter over knowledge data. The engine owns persistence: it hands the flow its saved
`FlowState`, and stores whatever state the flow returns. Returning `flow=None` ends the flow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bot.messages import Inbound, Reply
from bot.state import ConversationState, FlowState
from bot.store.base import ConversationSlot
from knowledge.loader import Knowledge


@dataclass(frozen=True)
class FlowContext:
    knowledge: Knowledge
    today: dt.date
    now: dt.datetime
    inbound: Inbound
    action: str | None  # the button pressed, or the one a typed number or button label picked
    conversation: ConversationState
    slot: ConversationSlot
    normalise: Callable[[str], str]


@dataclass
class FlowResult:
    flow: FlowState | None
    replies: list[Reply] = field(default_factory=list)
    consumed: bool = True  # False: not an answer to the step; the engine tries the FAQ, then `reprompt`


class Flow(Protocol):
    name: str
    intents: Sequence[str]  # lexicon intent names (and `menu:<intent>` buttons) that start this flow

    async def start(self, ctx: FlowContext, seed: dict[str, Any]) -> FlowResult: ...

    async def step(self, ctx: FlowContext, flow: FlowState) -> FlowResult: ...

    def reprompt(self, ctx: FlowContext, flow: FlowState) -> list[Reply]: ...


@runtime_checkable
class Restarts(Protocol):
    """A flow in which "restart" starts the flow again, rather than the whole conversation."""

    async def restart(self, ctx: FlowContext, flow: FlowState) -> FlowResult: ...


@runtime_checkable
class ActsAfterwards(Protocol):
    """A flow whose buttons still work once it has ended (their value carries what they need)."""

    async def act(self, ctx: FlowContext) -> list[Reply] | None: ...
