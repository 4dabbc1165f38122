"""Replies → Block Kit, as pure functions: messages, the updated clicked message, App Home, form modals.

Every text the bot or a user wrote is escaped (&, <, >) before it becomes mrkdwn, so nobody can
inject a mention, a broadcast (`<!channel>`) or a disguised link. Block Kit limits are respected
here, not left to Slack to reject: 3000 characters a section, 25 buttons an actions block, 75
characters a button label, 2000 a button value, 50 blocks a message.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.slack.forms import SlackForm
from adapters.slack.texts import SlackTexts
from adapters.slack.translate import BLOCK_PREFIX, FORM_ACTION_PREFIX, FORM_CALLBACK_PREFIX
from bot.messages import Choice, Link, Reply
from knowledge.models import Texts

Block = dict[str, Any]

MAX_SECTION_CHARS = 3000
MAX_BUTTONS_PER_BLOCK = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BLOCKS_PER_MESSAGE = 50
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_CHARS = 3000
MAX_MODAL_TITLE = 24
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
FEEDBACK_PREFIX = "feedback:"
_LINK_SCHEMES = ("https://", "http://", "mailto:")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One chat message: `text` is the notification fallback, `blocks` what people see."""

    text: str
    blocks: list[Block]


# -- text ------------------------------------------------------------------------------------------
def escape(text: str) -> str:
    """The three characters Slack asks apps to escape in mrkdwn (and in fallback text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Reply text (plain, '- ' bullets) → escaped mrkdwn with real bullets."""
    lines = [f"• {line[2:]}" if line.startswith("- ") else line for line in text.split("\n")]
    return escape("\n".join(lines))


def split_text(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Cut text into pieces of at most `limit` characters, at a paragraph, line or word break if any."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cuts = [window.rfind(sep) for sep in ("\n\n", "\n", " ")]
        cut = next((c for c in cuts if c > limit // 2), max(cuts))
        if cut <= 0:
            cut = limit
            entity = rest.rfind("&", cut - 5, cut)  # never split an entity such as &amp;
            if entity > 0 and ";" in rest[cut : entity + 6]:
                cut = entity
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def link_mrkdwn(link: Link) -> str:
    """`<url|label>` with the label escaped; a URL that is not web or mail becomes plain text."""
    label = escape(link.label)
    if not link.url.startswith(_LINK_SCHEMES):
        return label
    url = link.url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{url}|{label}>"


# -- messages --------------------------------------------------------------------------------------
def render(
    replies: Sequence[Reply],
    *,
    texts: SlackTexts,
    feedback_prompt: str,
    forms: Collection[str] = (),
) -> list[SlackMessage]:
    """The replies of one turn as few messages as the 50-block limit allows (nearly always one)."""
    messages: list[SlackMessage] = []
    blocks: list[Block] = []
    fallback: list[str] = []
    for index, reply in enumerate(replies):
        reply_blocks = reply_to_blocks(
            reply, index, texts=texts, feedback_prompt=feedback_prompt, forms=forms
        )
        if blocks and len(blocks) + len(reply_blocks) > MAX_BLOCKS_PER_MESSAGE:
            messages.append(_message(fallback, blocks))
            blocks, fallback = [], []
        for start in range(0, len(reply_blocks), MAX_BLOCKS_PER_MESSAGE):
            chunk = reply_blocks[start : start + MAX_BLOCKS_PER_MESSAGE]
            if blocks and len(blocks) + len(chunk) > MAX_BLOCKS_PER_MESSAGE:
                messages.append(_message(fallback, blocks))
                blocks, fallback = [], []
            blocks.extend(chunk)
        fallback.append(reply.text)
    if blocks:
        messages.append(_message(fallback, blocks))
    return messages


def _message(texts: list[str], blocks: list[Block]) -> SlackMessage:
    return SlackMessage(
        text=_truncate(escape("\n\n".join(t for t in texts if t)), MAX_FALLBACK_CHARS), blocks=blocks
    )


def reply_to_blocks(
    reply: Reply,
    index: int,
    *,
    texts: SlackTexts,
    feedback_prompt: str,
    forms: Collection[str] = (),
) -> list[Block]:
    """One reply: its text, source links, choice buttons, an "Open form" button, then 👍/👎."""
    blocks: list[Block] = [
        {"type": "section", "block_id": f"{BLOCK_PREFIX}text-{index}-{part}", "text": _mrkdwn_object(piece)}
        for part, piece in enumerate(split_text(mrkdwn(reply.text)))
    ]
    links = [link_mrkdwn(link) for link in reply.links]
    for part, start in enumerate(range(0, len(links), MAX_CONTEXT_ELEMENTS)):
        elements = [_mrkdwn_object(text) for text in links[start : start + MAX_CONTEXT_ELEMENTS]]
        blocks.append(
            {"type": "context", "block_id": f"{BLOCK_PREFIX}links-{index}-{part}", "elements": elements}
        )
    choices = [c for c in reply.choices if not c.value.startswith(FEEDBACK_PREFIX)]
    feedback = [c for c in reply.choices if c.value.startswith(FEEDBACK_PREFIX)]
    blocks.extend(_button_blocks(choices, f"{BLOCK_PREFIX}choices-{index}", f"choice-{index}"))
    if reply.form and reply.form in forms:
        button = _button(texts.open_form, reply.form, f"{FORM_ACTION_PREFIX}{reply.form}")
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{BLOCK_PREFIX}form-{index}",
                "elements": [{**button, "style": "primary"}],
            }
        )
    if feedback:
        blocks.append(
            {
                "type": "context",
                "block_id": f"{BLOCK_PREFIX}prompt-{index}",
                "elements": [_mrkdwn_object(escape(feedback_prompt))],
            }
        )
        blocks.extend(_button_blocks(feedback, f"{BLOCK_PREFIX}feedback-{index}", f"feedback-{index}"))
    return blocks


def _button_blocks(choices: Sequence[Choice], block_id: str, action_prefix: str) -> list[Block]:
    buttons = [
        _button(choice.label, choice.value, f"{action_prefix}-{number}")
        for number, choice in enumerate(choices)
        if 0 < len(choice.value) <= MAX_BUTTON_VALUE  # a longer value cannot round-trip through Slack
    ]
    return [
        {
            "type": "actions",
            "block_id": f"{block_id}-{part}",
            "elements": buttons[start : start + MAX_BUTTONS_PER_BLOCK],
        }
        for part, start in enumerate(range(0, len(buttons), MAX_BUTTONS_PER_BLOCK))
    ]


def _button(label: str, value: str, action_id: str) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": _plain(_truncate(label, MAX_BUTTON_TEXT) or "…"),
        "value": value,
    }


def _mrkdwn_object(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": True}


# -- after a click ---------------------------------------------------------------------------------
def chosen_block(label: str, texts: SlackTexts) -> Block:
    return {
        "type": "context",
        "elements": [_mrkdwn_object(texts.you_chose.format(label=f"*{escape(label)}*"))],
    }


def mark_chosen(blocks: Iterable[Block], label: str, texts: SlackTexts) -> list[Block]:
    """The clicked message without any buttons (so none is pressed twice), saying what was chosen.

    Block ids are dropped so Slack gives the new version fresh ones, as it asks for updated messages.
    """
    kept: list[Block] = []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block.get("type") == "actions" or block_id.startswith(f"{BLOCK_PREFIX}prompt-"):
            continue
        kept.append({k: v for k, v in block.items() if k != "block_id"})
    kept.append(chosen_block(label, texts))
    return kept[-MAX_BLOCKS_PER_MESSAGE:]


# -- App Home --------------------------------------------------------------------------------------
def home_view(knowledge_texts: Texts, texts: SlackTexts, *, command: str, channel: str | None) -> Block:
    """The Home tab: a greeting and the menu. Its buttons answer in the user's DM with the app."""
    menu = [
        _button(knowledge_texts.menu_ask, "menu:ask", "home-ask"),
        _button(knowledge_texts.menu_fit, "menu:fit", "home-fit"),
        _button(knowledge_texts.menu_contact, "menu:contact", "home-contact"),
    ]
    menu[0]["style"] = "primary"
    return {
        "type": "home",
        "private_metadata": json.dumps({"channel": channel}) if channel else "",
        "blocks": [
            {
                "type": "header",
                "block_id": f"{BLOCK_PREFIX}home-title",
                "text": _plain(_truncate(texts.home_title, 150)),
            },
            {
                "type": "section",
                "block_id": f"{BLOCK_PREFIX}home-greeting",
                "text": _mrkdwn_object(_truncate(mrkdwn(knowledge_texts.greeting), MAX_SECTION_CHARS)),
            },
            {"type": "actions", "block_id": f"{BLOCK_PREFIX}home-menu", "elements": menu},
            {
                "type": "context",
                "block_id": f"{BLOCK_PREFIX}home-hint",
                "elements": [_mrkdwn_object(texts.home_hint.format(command=escape(command)))],
            },
        ],
    }


# -- form modals -----------------------------------------------------------------------------------
def form_modal(form: SlackForm, *, metadata: str, texts: SlackTexts) -> Block:
    """A modal with one input block per field; the block id is the field name, as submissions report."""
    blocks: list[Block] = []
    for field in form.fields:
        element: Block
        if field.kind == "select":
            element = {
                "type": "static_select",
                "action_id": "value",
                "options": _options(field.choices)[:100],
            }
        elif field.kind == "checkbox":
            element = {"type": "checkboxes", "action_id": "value", "options": _options(field.choices)[:10]}
        else:
            element = {"type": "plain_text_input", "action_id": "value", "multiline": field.multiline}
            if field.max_length:
                element["max_length"] = field.max_length
        if field.placeholder and field.kind != "checkbox":
            element["placeholder"] = _plain(_truncate(field.placeholder, 150))
        block: Block = {
            "type": "input",
            "block_id": field.name,
            "optional": field.optional,
            "label": _plain(_truncate(field.label, 2000)),
            "element": element,
        }
        if field.hint:
            block["hint"] = _plain(_truncate(field.hint, 2000))
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": f"{FORM_CALLBACK_PREFIX}{form.name}",
        "private_metadata": metadata,
        "title": _plain(_truncate(form.title, MAX_MODAL_TITLE)),
        "submit": _plain(texts.form_submit),
        "close": _plain(texts.form_cancel),
        "blocks": blocks[:100],
    }


def _options(choices: Sequence[Choice]) -> list[Block]:
    return [
        {"text": _plain(_truncate(c.label, MAX_OPTION_TEXT)), "value": c.value[:MAX_OPTION_VALUE]}
        for c in choices
    ]


def form_errors(errors: dict[str, str], form: SlackForm) -> dict[str, str]:
    """`response_action: errors` wants messages keyed by input block id; unknown fields are dropped."""
    names = {field.name for field in form.fields}
    return {name: message for name, message in errors.items() if name in names}
