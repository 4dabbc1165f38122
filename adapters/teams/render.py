"""Engine replies -> Teams message activities carrying Adaptive Cards. Pure functions over plain data.

Each reply becomes one message with one Adaptive Card (schema 1.5, the newest Teams renders). The card
holds the text, the source links and the buttons. The plain-text version goes in the activity's
`summary` and the card's `fallbackText` (what notifications and clients without cards show), not in the
activity's `text`: Teams splits a message with both text and a card into two posts, so the answer
would appear twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from adapters.teams.forms import CardForm, FormField
from adapters.teams.translate import ACTION_KEY, FORM_ACTION_PREFIX
from bot.messages import Link, Reply

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
MAX_TEXT_CHARS = 20_000  # well inside Teams' ~28 KB message limit

Json = dict[str, Any]


# --- text -------------------------------------------------------------------------------------------

# Characters the Adaptive Card markdown subset (and Teams) would treat as formatting.
_INLINE_SPECIALS = re.compile(r"([\\`*_~\[\]])")
_LINE_MARKER = re.compile(r"^(\s*)([#>+]|\d+[.)])(\s|$)")
_BULLET = re.compile(r"^\s*[-•*]\s+(.*)$")
_URL = re.compile(r"https?://[^\s<>\"'\[\]]+", re.IGNORECASE)
_TRAILING = ".,;:!?)"


def escape_markdown(text: str) -> str:
    """Make `text` display literally inside a TextBlock (no bold, links, lists or HTML from user text)."""
    return _INLINE_SPECIALS.sub(r"\\\1", text)


def safe_url(url: str) -> str | None:
    """An http(s) URL that is safe to put in a link, or None."""
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    # Percent-encode what would end or confuse a markdown link target; keep everything else as given.
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")


def _inline(text: str) -> str:
    """Escape one line of plain text, turning bare http(s) URLs into explicit, validated links."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        trimmed = _trim_url(match.group(0))
        url = safe_url(trimmed)
        if url is None:
            continue
        out.append(escape_markdown(text[last : match.start()]))
        out.append(f"[{escape_markdown(trimmed)}]({url})")
        last = match.start() + len(trimmed)
    out.append(escape_markdown(text[last:]))
    return "".join(out)


def _trim_url(url: str) -> str:
    """Drop sentence punctuation after a URL, but keep a ')' that closes a '(' inside it."""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def to_markdown(text: str) -> str:
    """Engine plain text (paragraphs, '- ' bullet lines) as Adaptive Card markdown.

    Every line break is kept as a paragraph break or a list item, so a line after a list never
    becomes part of the last item, and nothing in the text can start a heading, quote or numbered list.
    """
    blocks: list[str] = []
    items: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            items.append(f"- {_inline(bullet.group(1).strip())}")
            continue
        if items:
            blocks.append("\n".join(items))
            items = []
        line = line.strip()
        if not line:
            continue
        escaped = _inline(line)
        escaped = _LINE_MARKER.sub(lambda m: f"{m.group(1)}{_escape_marker(m.group(2))}{m.group(3)}", escaped)
        blocks.append(escaped)
    if items:
        blocks.append("\n".join(items))
    return "\n\n".join(blocks)


def _escape_marker(marker: str) -> str:
    if marker[0].isdigit():
        return f"{marker[:-1]}\\{marker[-1]}"
    return f"\\{marker}"


def plain_text(reply: Reply) -> str:
    """The reply for clients and notifications that show no card: text, numbered choices, links."""
    lines = [reply.text.strip()]
    if reply.choices:
        lines.append("")
        lines.extend(f"{n}. {choice.label}" for n, choice in enumerate(reply.choices, start=1))
    for link in reply.links:
        url = safe_url(link.url)
        if url is not None:
            lines.append(f"{link.label}: {url}")
    return "\n".join(lines)[:MAX_TEXT_CHARS]


# --- cards ------------------------------------------------------------------------------------------


def _text_block(text: str, **extra: Any) -> Json:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _link_block(link: Link) -> Json | None:
    url = safe_url(link.url)
    if url is None:
        return None
    return _text_block(
        f"[{escape_markdown(link.label)}]({url})", size="Small", isSubtle=True, spacing="Small"
    )


def submit_action(title: str, value: str) -> Json:
    """A button whose press comes back as a message with value {"action": value} (see translate.py)."""
    return {"type": "Action.Submit", "title": title, "data": {ACTION_KEY: value}}


def adaptive_card(
    reply: Reply, *, feedback_prompt: str | None = None, forms: Mapping[str, CardForm] | None = None
) -> Json:
    body: list[Json] = [_text_block(to_markdown(reply.text[:MAX_TEXT_CHARS]))]
    body.extend(block for block in (_link_block(link) for link in reply.links) if block is not None)
    if reply.feedback and feedback_prompt:
        body.append(_text_block(escape_markdown(feedback_prompt), size="Small", isSubtle=True))
    actions: list[Json] = [submit_action(choice.label, choice.value) for choice in reply.choices]
    form = (forms or {}).get(reply.form or "")
    if form is not None:
        actions.append({"type": "Action.ShowCard", "title": form.open_label, "card": form_card(form)})
    card: Json = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": plain_text(reply),
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def _input(field: FormField, value: str | None) -> Json:
    common: Json = {"id": field.name, "label": field.label, "isRequired": not field.optional}
    common["errorMessage"] = field.error
    if field.toggle and field.choices:
        on = field.choices[0]
        element: Json = {
            "type": "Input.Toggle",
            **common,
            "title": on.label,
            "valueOn": on.value,
            "valueOff": "",
        }
    elif field.choices:
        element = {
            "type": "Input.ChoiceSet",
            **common,
            "style": "compact",
            "choices": [{"title": c.label, "value": c.value} for c in field.choices],
        }
    else:
        element = {"type": "Input.Text", **common, "isMultiline": field.multiline}
        if field.max_length is not None:
            element["maxLength"] = field.max_length
        if field.placeholder:
            element["placeholder"] = field.placeholder
        if field.regex:
            element["regex"] = field.regex
        if field.style:
            element["style"] = field.style
    if value:
        element["value"] = value
    return element


def form_card(
    form: CardForm,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> Json:
    """The form as an Adaptive Card: one input per field, each followed by its problem (if any).

    Teams checks required fields and patterns before sending (`isRequired`, `regex`, `errorMessage`);
    the form's own `validate` runs on the server and its messages appear under the fields here.
    """
    values = values or {}
    problems = problems or {}
    body: list[Json] = []
    for field in form.fields:
        body.append(_input(field, values.get(field.name)))
        problem = problems.get(field.name)
        if problem:
            body.append(
                _text_block(escape_markdown(problem), color="Attention", size="Small", spacing="None")
            )
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body,
        "actions": [submit_action(form.submit_label, f"{FORM_ACTION_PREFIX}{form.name}")],
    }


def render_form(form: CardForm, values: Mapping[str, str], problems: Mapping[str, str]) -> Json:
    """A message re-offering a submitted form, filled in as sent, with what to fix under the fields."""
    card = form_card(form, values, problems)
    summary = "\n".join(problems.values())
    return {
        "type": "message",
        "summary": summary,
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": {**card, "fallbackText": summary}}],
    }


def render_reply(
    reply: Reply, *, feedback_prompt: str | None = None, forms: Mapping[str, CardForm] | None = None
) -> Json:
    """One engine reply as a Bot Framework message activity (JSON, camelCase as on the wire)."""
    return {
        "type": "message",
        "summary": plain_text(reply),
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "content": adaptive_card(reply, feedback_prompt=feedback_prompt, forms=forms),
            }
        ],
    }


def render(
    replies: Iterable[Reply],
    *,
    feedback_prompt: str | None = None,
    forms: Mapping[str, CardForm] | None = None,
) -> list[Json]:
    return [render_reply(reply, feedback_prompt=feedback_prompt, forms=forms) for reply in replies]


def card_of(activity: Mapping[str, Any]) -> Json | None:
    """The Adaptive Card in an outgoing activity, if any (for tests and tools)."""
    attachments = activity.get("attachments")
    if not isinstance(attachments, Sequence):
        return None
    for attachment in attachments:
        if isinstance(attachment, Mapping) and attachment.get("contentType") == CARD_CONTENT_TYPE:
            content = attachment.get("content")
            return dict(content) if isinstance(content, Mapping) else None
    return None
