"""Web chat JSON <-> engine types. Pure functions: request body -> Inbound, replies -> response body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.messages import ConversationKey, Inbound, Reply
from bot.store.base import TranscriptEntry

ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"
M = TypeVar("M", bound=BaseModel)
HISTORY_LIMIT = 100  # messages a reloaded page gets back: the end of a long conversation


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    conversation_id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)
    text: str | None = Field(default=None, max_length=20_000)
    action: str | None = Field(default=None, max_length=300)
    # What the page showed for this turn, for the transcript a reload restores: the label of the
    # button pressed (`action`); `silent` when it showed nothing (its automatic greeting).
    label: str | None = Field(default=None, max_length=300)
    silent: bool = False

    @model_validator(mode="after")
    def _text_or_action(self) -> ChatRequest:
        if self.text is None and self.action is None:
            raise ValueError("give either 'text' or 'action'")
        return self


class HistoryRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    conversation_id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)


class BadRequest(ValueError):
    """The request body cannot be used; the message is safe to show to the caller."""


@dataclass(frozen=True)
class ChatCall:
    """One POST /api/chat: what the engine gets, and what the page showed the user saying (or None)."""

    inbound: Inbound
    shown: TranscriptEntry | None


def _validated(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{where}: {err['msg']}")
        raise BadRequest("; ".join(problems)) from None


def _key(user_id: str, conversation_id: str) -> ConversationKey:
    return ConversationKey("web", "", user_id, conversation_id)


def parse_chat(body: Any) -> ChatCall:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    request = _validated(ChatRequest, body)
    key = _key(request.user_id, request.conversation_id)
    text = request.text if request.action is None else None
    inbound = Inbound(key=key, text=text, action=request.action)
    shown: TranscriptEntry | None = None
    if request.silent:
        shown = None
    elif request.action is not None:
        if request.label:  # an API client that names no label showed nothing
            shown = TranscriptEntry("user", {"text": request.label, "action": request.action})
    elif text is not None:
        shown = TranscriptEntry("user", {"text": text})
    return ChatCall(inbound, shown)


def to_inbound(body: Any) -> Inbound:
    return parse_chat(body).inbound


def history_key(query: Mapping[str, str]) -> ConversationKey:
    """The conversation a GET /api/history asks for: both ids, as /api/chat takes them."""
    request = _validated(HistoryRequest, dict(query))
    return _key(request.user_id, request.conversation_id)


def render_reply(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "kind": reply.kind,
        "faq_id": reply.faq_id,
        "feedback": reply.feedback,
        "choices": [{"label": c.label, "value": c.value} for c in reply.choices],
        "links": [{"label": link.label, "url": link.url} for link in reply.links],
    }


def render(replies: list[Reply]) -> dict[str, Any]:
    return {"replies": [render_reply(reply) for reply in replies]}


def transcript_of(call: ChatCall, rendered: dict[str, Any]) -> list[TranscriptEntry]:
    """The turn as the page shows it: the user's message (if it showed one), then each reply."""
    entries = [call.shown] if call.shown is not None else []
    entries += [TranscriptEntry("bot", reply) for reply in rendered["replies"]]
    return entries


def render_history(entries: list[TranscriptEntry], *, max_chars: int) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for entry in entries:
        if entry.role == "user":
            message = {"role": "user", "text": str(entry.body.get("text", ""))}
            if entry.body.get("action"):
                message["action"] = str(entry.body["action"])
        else:
            message = {"role": "bot", **entry.body}
        messages.append(message)
    return {"messages": messages, "max_chars": max_chars}
