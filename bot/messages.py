"""The platform-free message types: every adapter turns its events into `Inbound` and renders `Reply`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Platform = Literal["web", "slack", "teams", "cli"]


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Who is talking where. `workspace` is the Slack team or Teams tenant ('' for web and CLI)."""

    platform: str
    workspace: str
    user_id: str
    conversation_id: str

    def as_str(self) -> str:
        return "|".join((self.platform, self.workspace, self.user_id, self.conversation_id))

    @property
    def user_ref(self) -> str:
        """The user across conversations, e.g. `slack:T1:U123` (used for ownership and erasure)."""
        return ":".join(p for p in (self.platform, self.workspace, self.user_id) if p)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a user did: typed `text`, or pressed a button whose value is `action`."""

    key: ConversationKey
    text: str | None = None
    action: str | None = None
    display_name: str | None = None  # never logged; used only to prefill forms


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


ReplyKind = Literal["answer", "related", "message", "question", "disambiguation", "fallback", "error"]


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot. `text` is plain text (bullets as '- ' lines); adapters escape it."""

    text: str
    choices: tuple[Choice, ...] = ()
    links: tuple[Link, ...] = ()
    kind: ReplyKind = "message"
    faq_id: str | None = None
    feedback: bool = False  # offer 👍/👎 for this answer
    form: str | None = None  # name of a structured form the adapter may offer (e.g. "enquiry")
    data: dict[str, str] = field(default_factory=dict)  # extra machine-readable detail (e.g. score)
