"""The platform-free message types: every adapter turns its events into `Inbound` and renders `Reply`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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


def reply_to_json(reply: Reply) -> dict[str, object]:
    """A reply as plain JSON (kept with a durable inbound event until it has been posted)."""
    return {
        "text": reply.text,
        "choices": [[c.label, c.value] for c in reply.choices],
        "links": [[link.label, link.url] for link in reply.links],
        "kind": reply.kind,
        "faq_id": reply.faq_id,
        "feedback": reply.feedback,
        "form": reply.form,
        "data": dict(reply.data),
    }


def reply_from_json(raw: dict[str, Any]) -> Reply:
    return Reply(
        text=str(raw["text"]),
        choices=tuple(Choice(str(label), str(value)) for label, value in raw.get("choices", [])),
        links=tuple(Link(str(label), str(url)) for label, url in raw.get("links", [])),
        kind=raw.get("kind", "message"),
        faq_id=raw.get("faq_id"),
        feedback=bool(raw.get("feedback", False)),
        form=raw.get("form"),
        data={str(k): str(v) for k, v in (raw.get("data") or {}).items()},
    )
