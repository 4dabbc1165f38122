"""Teams activity JSON -> engine types. Pure functions over the activity exactly as Teams posted it.

What the bot answers: personal-chat messages; channel and group-chat messages that @mention the bot;
Adaptive Card button presses (a message whose `value` carries the button's data). Everything else
(reactions, typing, edits, deletes, messages from bots, channel chatter without a mention) is ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.messages import ConversationKey, Inbound

PLATFORM = "teams"
# The key of an Action.Submit button's data that carries the engine's button value (see render.py).
ACTION_KEY = "action"
MAX_ACTION_CHARS = 300
# What a press on a card we cannot read becomes: no engine action has this value, so the engine answers
# that the button is no longer active.
UNKNOWN_ACTION = "card:unknown"
# Button value of a form's submit button: card-form:<form name> (see forms.py).
FORM_ACTION_PREFIX = "card-form:"
MAX_FORM_VALUE_CHARS = 5_000
# Conversation types where Teams only delivers messages that @mention the bot (and where we insist on it).
GROUP_CONVERSATIONS = frozenset({"channel", "groupChat"})

_AT_TAG = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\u00a0]+")

Activity = Mapping[str, Any]


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def tenant_id(activity: Activity) -> str:
    """The Microsoft 365 tenant: channelData.tenant.id, else conversation.tenantId ('' in the Emulator)."""
    tenant = _str(_dict(_dict(activity.get("channelData")).get("tenant")).get("id"))
    return tenant or _str(_dict(activity.get("conversation")).get("tenantId"))


def conversation_key(activity: Activity) -> ConversationKey | None:
    """Tenant, user (Entra object id when Teams gives it) and conversation.

    In a channel the conversation id ends in `;messageid=<root post>`, so each thread is its own
    conversation with its own state.
    """
    sender = _dict(activity.get("from"))
    user = _str(sender.get("aadObjectId")) or _str(sender.get("id"))
    conversation = _str(_dict(activity.get("conversation")).get("id"))
    if not user or not conversation:
        return None
    return ConversationKey(PLATFORM, tenant_id(activity), user, conversation)


def conversation_type(activity: Activity) -> str:
    conversation = _dict(activity.get("conversation"))
    declared = _str(conversation.get("conversationType"))
    if declared:
        return declared
    return "groupChat" if conversation.get("isGroup") is True else "personal"


def is_from_bot(activity: Activity) -> bool:
    sender = _dict(activity.get("from"))
    sender_id = _str(sender.get("id"))
    if _str(sender.get("role")).lower() == "bot":
        return True
    if sender_id and sender_id == _str(_dict(activity.get("recipient")).get("id")):
        return True
    # In Teams, bot accounts are `28:<app id>`; users are `29:...`.
    return _str(activity.get("channelId")) == "msteams" and sender_id.startswith("28:")


def _bot_mentions(activity: Activity) -> list[Mapping[str, Any]]:
    bot_id = _str(_dict(activity.get("recipient")).get("id"))
    entities = activity.get("entities")
    if not bot_id or not isinstance(entities, list):
        return []
    return [
        entity
        for entity in entities
        if isinstance(entity, Mapping)
        and _str(entity.get("type")).lower() == "mention"
        and _str(_dict(entity.get("mentioned")).get("id")) == bot_id
    ]


def mentions_bot(activity: Activity) -> bool:
    return bool(_bot_mentions(activity))


def strip_mentions(activity: Activity) -> str:
    """The message text without the @mention of the bot; other people's mentions become their names.

    The mention entities (not the text) say who was mentioned, as Microsoft advises: the text of the
    bot's mention is removed wherever it appears.
    """
    text = _str(activity.get("text"))
    bot_names: set[str] = set()
    for mention in _bot_mentions(activity):
        mention_text = _str(mention.get("text"))
        if mention_text:
            text = text.replace(mention_text, " ")
            inner = _AT_TAG.fullmatch(mention_text.strip())
            if inner:
                bot_names.add(_normalise_name(inner.group(1)))
        name = _str(_dict(mention.get("mentioned")).get("name"))
        if name:
            bot_names.add(_normalise_name(name))

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        return " " if _normalise_name(inner) in bot_names else inner

    text = _AT_TAG.sub(replace, text)
    text = text.replace("&nbsp;", " ")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines()).strip()


def _normalise_name(name: str) -> str:
    return name.strip().lstrip("@").strip().casefold()


def button_value(activity: Activity) -> str | None:
    """The engine value of an Adaptive Card Action.Submit press, or None when this is not one."""
    value = activity.get("value")
    if isinstance(value, str):  # messageBack may carry the data as a JSON string
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, Mapping):
        return None
    action = value.get(ACTION_KEY)
    if not isinstance(action, str) or not action.strip() or len(action) > MAX_ACTION_CHARS:
        return None
    return action.strip()


@dataclass(frozen=True, slots=True)
class FormSubmission:
    """A submitted card form: which form, and the inputs as typed (never logged)."""

    form: str
    values: dict[str, str]


def form_submission(activity: Activity) -> FormSubmission | None:
    """A press of a form's submit button: the form's name and its string inputs, or None."""
    action = button_value(activity)
    if action is None or not action.startswith(FORM_ACTION_PREFIX) or is_from_bot(activity):
        return None
    value = activity.get("value")
    if isinstance(value, str):
        value = json.loads(value)
    values = {
        name: text[:MAX_FORM_VALUE_CHARS]
        for name, text in _dict(value).items()
        if name != ACTION_KEY and isinstance(name, str) and isinstance(text, str)
    }
    return FormSubmission(action.removeprefix(FORM_ACTION_PREFIX), values)


def has_value(activity: Activity) -> bool:
    return activity.get("value") is not None


def to_inbound(activity: Activity) -> Inbound | None:
    """A message or button press for the engine, or None when the bot should stay silent."""
    if _str(activity.get("type")) != "message" or is_from_bot(activity):
        return None
    key = conversation_key(activity)
    if key is None:
        return None
    display_name = _str(_dict(activity.get("from")).get("name")) or None
    if has_value(activity):
        # A card button press: Teams delivers these without a mention, even in channels.
        action = button_value(activity)
        if action is not None:
            return Inbound(key=key, action=action, display_name=display_name)
        text = strip_mentions(activity)
        if text:  # messageBack from some other card: it also sends text, so read that
            return Inbound(key=key, text=text, display_name=display_name)
        # A press on a card that is not ours (or too old): the engine says the button has expired.
        return Inbound(key=key, action=UNKNOWN_ACTION, display_name=display_name)
    if conversation_type(activity) in GROUP_CONVERSATIONS and not mentions_bot(activity):
        return None
    raw = activity.get("text")
    if raw is None or (isinstance(raw, str) and not raw.strip() and _has_files(activity)):
        return Inbound(key=key, text=None, display_name=display_name)  # e.g. only a picture or a file
    return Inbound(key=key, text=strip_mentions(activity), display_name=display_name)


def _has_files(activity: Activity) -> bool:
    attachments = activity.get("attachments")
    if not isinstance(attachments, list):
        return False
    return any(
        isinstance(a, Mapping) and _str(a.get("contentType")) not in ("text/html", "text/plain")
        for a in attachments
    )


def bot_was_added(activity: Activity) -> bool:
    """A conversationUpdate that adds the bot itself (not other people) to a chat, channel or team."""
    if _str(activity.get("type")) != "conversationUpdate":
        return False
    bot_id = _str(_dict(activity.get("recipient")).get("id"))
    members = activity.get("membersAdded")
    if not bot_id or not isinstance(members, list):
        return False
    return any(isinstance(m, Mapping) and _str(m.get("id")) == bot_id for m in members)


def describe(activity: Activity) -> dict[str, str]:
    """Fields that are safe to log (no text, no names): what kind of activity this was."""
    return {
        "activity_type": _str(activity.get("type"))[:40],
        "conversation_type": conversation_type(activity)[:40],
        "channel": _str(activity.get("channelId"))[:40],
    }
