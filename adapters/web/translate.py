"""Web chat JSON <-> engine types. Pure functions: request body -> Inbound, replies -> response body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.messages import ConversationKey, Inbound, Reply

ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    conversation_id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)
    text: str | None = Field(default=None, max_length=20_000)
    action: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _text_or_action(self) -> ChatRequest:
        if self.text is None and self.action is None:
            raise ValueError("give either 'text' or 'action'")
        return self


class BadRequest(ValueError):
    """The request body cannot be used; the message is safe to show to the caller."""


def to_inbound(body: Any) -> Inbound:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        request = ChatRequest.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{where}: {err['msg']}")
        raise BadRequest("; ".join(problems)) from None
    key = ConversationKey("web", "", request.user_id, request.conversation_id)
    return Inbound(key=key, text=request.text if request.action is None else None, action=request.action)


def render(replies: list[Reply]) -> dict[str, Any]:
    return {
        "replies": [
            {
                "text": reply.text,
                "kind": reply.kind,
                "faq_id": reply.faq_id,
                "feedback": reply.feedback,
                "choices": [{"label": c.label, "value": c.value} for c in reply.choices],
                "links": [{"label": link.label, "url": link.url} for link in reply.links],
            }
            for reply in replies
        ]
    }
