"""Slack payloads → `Inbound`, as pure functions over the JSON (or form fields) Slack sends.

Each function returns `None` for anything the engine should not see: bot messages, edits, deletions and
other subtypes, our own messages, channel chatter that does not mention us. Nothing here talks to Slack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.messages import ConversationKey, Inbound

# `<@U123>` or `<@U123|name>`: a user mention in Slack's message markup.
_USER_MENTION = re.compile(r"<@([UWB][A-Z0-9]+)(?:\|[^>]*)?>")
_LEADING_MENTION = re.compile(r"^\s*<@[UWB][A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")
# `<#C123|general>`, `<!here>`, `<!subteam^S1|@team>`, `<https://x|label>`, `<mailto:a@b|a@b>`
_MARKUP = re.compile(r"<([^<>]*)>")
_SPACES = re.compile(r"[ \t]{2,}")  # left where a mention was taken out
# Direct-message channel types: "im" today; "app_home" in Slack's older documented examples.
_DM_CHANNEL_TYPES = frozenset({"im", "app_home"})

BLOCK_PREFIX = "mastery-"  # block ids of every block we render; a click on another app's block is not ours
FORM_ACTION_PREFIX = "form-"  # action id of an "Open form" button: form-<name>
FORM_CALLBACK_PREFIX = "mastery-form-"  # callback id of a form modal: mastery-form-<name>


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where the replies to one inbound go."""

    channel: str
    thread_ts: str | None = None
    ephemeral_user: str | None = None  # reply visible to this user only (slash commands, ephemeral clicks)
    response_url: str | None = None  # Slack's per-interaction webhook: used where chat.* cannot reach


@dataclass(frozen=True, slots=True)
class SlackTurn:
    """One thing a user did in Slack, ready for the engine."""

    inbound: Inbound
    reply_to: ReplyTo
    dedupe_id: str | None = None  # claim this once before acting (Slack retries events)


@dataclass(frozen=True, slots=True)
class Click:
    """A button pressed on a message or the App Home: the engine gets the value; our message is updated."""

    turn: SlackTurn
    label: str
    message_ts: str | None  # the clicked message (None on the App Home)
    message_text: str  # its notification text, as Slack holds it (already escaped)
    blocks: tuple[dict[str, Any], ...] | None  # its blocks, when Slack sent them (never for ephemeral)
    ephemeral: bool
    ours: bool  # the button is one we rendered, so the message may be updated


@dataclass(frozen=True, slots=True)
class HomeOpened:
    team: str
    user: str
    channel: str | None  # the user's DM with the app, carried in the Home view so its buttons reply there


@dataclass(frozen=True, slots=True)
class FormOpening:
    """An "Open form" button was pressed: open the named modal with `trigger_id` (valid 3 seconds)."""

    form: str
    trigger_id: str
    key: ConversationKey
    reply_to: ReplyTo


@dataclass(frozen=True, slots=True)
class FormSubmission:
    form: str
    values: dict[str, str]
    key: ConversationKey
    reply_to: ReplyTo


# -- text ------------------------------------------------------------------------------------------
def unescape(text: str) -> str:
    """Slack escapes exactly these three in message text; `&amp;` last so `&amp;lt;` stays `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain_text(text: str, *, bot_user_id: str | None = None, strip_leading_mention: bool = False) -> str:
    """Slack message markup → what the user typed: our mention removed, links and names as plain words."""
    if strip_leading_mention:
        text = _LEADING_MENTION.sub("", text, count=1)
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _USER_MENTION.sub(lambda m: "@" + m.group(1), text)
    text = _MARKUP.sub(_markup_as_text, text)
    text = unescape(text)
    return _SPACES.sub(" ", text).strip()


def _markup_as_text(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("#"):  # channel
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!channel>, <!subteam^ID|@team>, <!date^...|fallback>
        return label or "@" + target[1:].split("^", 1)[0]
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    return target if not label or label == target else label


def conversation_id(channel: str, thread_ts: str | None) -> str:
    """A DM is one conversation; in a channel each thread is one."""
    if channel.startswith("D") or not thread_ts:
        return channel
    return f"{channel}:{thread_ts}"


# -- Events API ------------------------------------------------------------------------------------
def from_event(body: Mapping[str, Any], *, bot_user_id: str | None = None) -> SlackTurn | None:
    """An `event_callback` body (message.im or app_mention) → the turn, or None to ignore it."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    kind = event.get("type")
    if kind not in ("message", "app_mention"):
        return None
    if event.get("subtype") or event.get("bot_id") or event.get("hidden") or event.get("edited"):
        return None  # edits, deletions, joins, bot posts (ours included) and every other subtype
    user, channel, text = event.get("user"), event.get("channel"), event.get("text")
    if not isinstance(user, str) or not isinstance(channel, str) or not isinstance(text, str):
        return None
    if bot_user_id and user == bot_user_id:
        return None
    team = _event_team(body, event)
    thread_ts = _str(event.get("thread_ts"))
    if kind == "message":
        channel_type = event.get("channel_type")
        is_dm = channel_type in _DM_CHANNEL_TYPES or (channel_type is None and channel.startswith("D"))
        if not is_dm:
            return None  # channel messages reach us only as app_mention
        cleaned = plain_text(text, bot_user_id=bot_user_id)
        key = ConversationKey("slack", team, user, channel)
        reply_to = ReplyTo(channel=channel, thread_ts=thread_ts)
    else:
        cleaned = plain_text(text, bot_user_id=bot_user_id, strip_leading_mention=True)
        root = thread_ts or _str(event.get("ts"))
        key = ConversationKey("slack", team, user, conversation_id(channel, root))
        reply_to = ReplyTo(channel=channel, thread_ts=None if channel.startswith("D") else root)
    return SlackTurn(Inbound(key=key, text=cleaned), reply_to, dedupe_id=_event_dedupe_id(body, event))


def home_opened(body: Mapping[str, Any]) -> HomeOpened | None:
    event = body.get("event")
    if not isinstance(event, dict) or event.get("type") != "app_home_opened" or event.get("tab") != "home":
        return None
    user = event.get("user")
    if not isinstance(user, str):
        return None
    return HomeOpened(team=_event_team(body, event), user=user, channel=_str(event.get("channel")))


def _event_team(body: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    team = body.get("team_id") or event.get("team")
    if not team:
        authorizations = body.get("authorizations") or [{}]
        team = authorizations[0].get("team_id") if isinstance(authorizations[0], dict) else None
    return str(team or "")


def _event_dedupe_id(body: Mapping[str, Any], event: Mapping[str, Any]) -> str | None:
    event_id = _str(body.get("event_id"))
    if event_id:
        return f"event:{event_id}"
    # A message.im and an app_mention never share a channel+ts, so this is unique per message.
    channel, ts = _str(event.get("channel")), _str(event.get("ts"))
    return f"message:{channel}:{ts}" if channel and ts else None


# -- slash command ---------------------------------------------------------------------------------
def from_command(form: Mapping[str, Any], *, empty_action: str = "menu:help") -> SlackTurn | None:
    """A slash command (form fields) → a turn answered ephemerally. `/cmd` alone opens the menu."""
    user, channel, team = (
        form_field(form, "user_id"),
        form_field(form, "channel_id"),
        form_field(form, "team_id"),
    )
    if not user or not channel:
        return None
    text = plain_text(form_field(form, "text") or "")
    key = ConversationKey("slack", team or "", user, conversation_id(channel, None))
    inbound = Inbound(key=key, text=text) if text else Inbound(key=key, action=empty_action)
    reply_to = ReplyTo(channel=channel, ephemeral_user=user, response_url=form_field(form, "response_url"))
    return SlackTurn(inbound, reply_to)


def form_field(form: Mapping[str, Any], name: str) -> str | None:
    """Bolt gives form fields as lists (`{"text": ["hi"]}`); recorded payloads may have plain strings."""
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


# -- interactivity ---------------------------------------------------------------------------------
def from_block_actions(body: Mapping[str, Any]) -> Click | None:
    """A button (or menu option) pressed → the engine gets its value as `Inbound.action`."""
    if body.get("type") != "block_actions":
        return None
    actions = body.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else None
    user = body.get("user") or {}
    user_id = _str(user.get("id"))
    if action is None or not user_id:
        return None
    value, label = _action_value(action)
    if value is None:
        return None
    team = _interaction_team(body)
    container = body.get("container") or {}
    ours = str(action.get("block_id") or "").startswith(BLOCK_PREFIX)
    if container.get("type") == "view":
        view = body.get("view") or {}
        if view.get("type") != "home":
            return None  # buttons inside modals are not part of the conversation
        dm = _home_channel(view) or user_id  # posting to a user id lands in the app's DM
        key = ConversationKey("slack", team, user_id, dm)
        turn = SlackTurn(Inbound(key=key, action=value), ReplyTo(channel=dm))
        return Click(turn, label, None, "", None, ephemeral=False, ours=ours)
    channel = _str(container.get("channel_id")) or _str((body.get("channel") or {}).get("id"))
    message_ts = _str(container.get("message_ts"))
    if not channel:
        return None
    message = body.get("message") if isinstance(body.get("message"), dict) else None
    ephemeral = bool(container.get("is_ephemeral"))
    thread_ts = _str((message or {}).get("thread_ts")) or _str(container.get("thread_ts"))
    key = ConversationKey("slack", team, user_id, conversation_id(channel, thread_ts))
    reply_to = ReplyTo(
        channel=channel,
        thread_ts=None if channel.startswith("D") and not thread_ts else thread_ts,
        ephemeral_user=user_id if ephemeral else None,
        response_url=_str(body.get("response_url")),
    )
    dedupe_id = f"click:{channel}:{message_ts}" if ours and message_ts else None
    blocks = message.get("blocks") if message else None
    return Click(
        SlackTurn(Inbound(key=key, action=value), reply_to, dedupe_id=dedupe_id),
        label,
        message_ts,
        str((message or {}).get("text") or ""),
        tuple(b for b in blocks if isinstance(b, dict)) if isinstance(blocks, list) else None,
        ephemeral=ephemeral,
        ours=ours and container.get("type") == "message",
    )


def _action_value(action: Mapping[str, Any]) -> tuple[str | None, str]:
    if action.get("type") == "button":
        return _str(action.get("value")), _str((action.get("text") or {}).get("text")) or ""
    option = action.get("selected_option")
    if isinstance(option, dict):
        return _str(option.get("value")), _str((option.get("text") or {}).get("text")) or ""
    return None, ""


def _interaction_team(body: Mapping[str, Any]) -> str:
    team = body.get("team") or {}
    user = body.get("user") or {}
    return str(team.get("id") or user.get("team_id") or "")


def _home_channel(view: Mapping[str, Any]) -> str | None:
    metadata = _json_object(view.get("private_metadata"))
    return _str(metadata.get("channel"))


def form_opening(body: Mapping[str, Any]) -> FormOpening | None:
    """An "Open form" button: which form, the trigger to open it with, and where the answers go after."""
    click = from_block_actions(body)
    actions = body.get("actions") or [{}]
    action_id = str(actions[0].get("action_id") or "")
    trigger_id = _str(body.get("trigger_id"))
    if click is None or not trigger_id or not action_id.startswith(FORM_ACTION_PREFIX):
        return None
    form = action_id.removeprefix(FORM_ACTION_PREFIX)
    return FormOpening(form, trigger_id, click.turn.inbound.key, click.turn.reply_to)


def form_metadata(opening: FormOpening) -> str:
    """What the modal carries through Slack (its `private_metadata`, max 3000 chars) to the submission."""
    reply_to = opening.reply_to
    data = {
        "form": opening.form,
        "team": opening.key.workspace,
        "conversation": opening.key.conversation_id,
        "channel": reply_to.channel,
        "thread_ts": reply_to.thread_ts,
        "ephemeral": reply_to.ephemeral_user is not None,
    }
    return json.dumps({k: v for k, v in data.items() if v not in (None, False)}, separators=(",", ":"))


def form_submission(body: Mapping[str, Any]) -> FormSubmission | None:
    """A `view_submission` of one of our form modals → the values typed, keyed by field (block id)."""
    view = body.get("view") or {}
    callback_id = str(view.get("callback_id") or "")
    user_id = _str((body.get("user") or {}).get("id"))
    if (
        body.get("type") != "view_submission"
        or not callback_id.startswith(FORM_CALLBACK_PREFIX)
        or not user_id
    ):
        return None
    metadata = _json_object(view.get("private_metadata"))
    channel = _str(metadata.get("channel"))
    conversation = _str(metadata.get("conversation"))
    if not channel or not conversation:
        return None
    team = _str(metadata.get("team")) or _interaction_team(body)
    reply_to = ReplyTo(
        channel=channel,
        thread_ts=_str(metadata.get("thread_ts")),
        ephemeral_user=user_id if metadata.get("ephemeral") else None,
    )
    key = ConversationKey("slack", team, user_id, conversation)
    return FormSubmission(callback_id.removeprefix(FORM_CALLBACK_PREFIX), form_values(view), key, reply_to)


def form_values(view: Mapping[str, Any]) -> dict[str, str]:
    """`view.state.values` ({block_id: {action_id: element state}}) → {block_id: text}; blanks as ""."""
    values: dict[str, str] = {}
    state = (view.get("state") or {}).get("values") or {}
    for block_id, elements in state.items():
        if not isinstance(elements, dict):
            continue
        for element in elements.values():
            if not isinstance(element, dict):
                continue
            option = element.get("selected_option")
            raw = option.get("value") if isinstance(option, dict) else element.get("value")
            picked = element.get("selected_options")  # checkboxes: the ticked values, comma-separated
            if isinstance(picked, list):
                raw = ",".join(str(o.get("value")) for o in picked if isinstance(o, dict))
            values[str(block_id)] = raw.strip() if isinstance(raw, str) else ""
            break
    return values


def _json_object(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str) or not raw.startswith("{"):
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
