"""Replies → Block Kit: escaping, links, buttons, feedback, forms and every Block Kit limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from adapters.slack import render
from adapters.slack.forms import FormField
from adapters.slack.texts import SlackTexts, load_slack_texts
from bot.messages import Choice as C
from bot.messages import ConversationKey, Link, Reply
from knowledge.loader import Knowledge
from tests.adapters.slack.blockkit import check_blocks

TEXTS = load_slack_texts()
PROMPT = "Was this helpful?"


def blocks_of(*replies: Reply, forms: tuple[str, ...] = ()) -> list[dict]:
    messages = render.render(list(replies), texts=TEXTS, feedback_prompt=PROMPT, forms=forms)
    assert len(messages) == 1
    check_blocks(messages[0].blocks)
    return messages[0].blocks


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_answer_with_source_and_feedback() -> None:
    reply = Reply(
        "It is free.\n- no fee\n- release time funded",
        choices=(C("👍 Helpful", "feedback:up:dwg-cost"), C("👎 Not helpful", "feedback:down:dwg-cost")),
        links=(Link("Source: NCETM – DWG", "https://www.ncetm.org.uk/dwg?a=1&b=2"),),
        kind="answer",
        faq_id="dwg-cost",
        feedback=True,
    )
    blocks = blocks_of(reply)
    assert blocks == [
        {
            "type": "section",
            "block_id": "mastery-text-0-0",
            "text": {"type": "mrkdwn", "text": "It is free.\n• no fee\n• release time funded"},
        },
        {
            "type": "context",
            "block_id": "mastery-links-0-0",
            "elements": [
                {"type": "mrkdwn", "text": "<https://www.ncetm.org.uk/dwg?a=1&amp;b=2|Source: NCETM – DWG>"}
            ],
        },
        {"type": "context", "block_id": "mastery-prompt-0", "elements": [{"type": "mrkdwn", "text": PROMPT}]},
        {
            "type": "actions",
            "block_id": "mastery-feedback-0-0",
            "elements": [
                {
                    "type": "button",
                    "action_id": "feedback-0-0",
                    "text": {"type": "plain_text", "text": "👍 Helpful", "emoji": True},
                    "value": "feedback:up:dwg-cost",
                },
                {
                    "type": "button",
                    "action_id": "feedback-0-1",
                    "text": {"type": "plain_text", "text": "👎 Not helpful", "emoji": True},
                    "value": "feedback:down:dwg-cost",
                },
            ],
        },
    ]


def test_user_text_cannot_inject_mentions_broadcasts_or_links() -> None:
    text = "You asked: <!channel> <@U123> <https://evil.example|click> & more"
    blocks = blocks_of(Reply(text))
    assert blocks[0]["text"]["text"] == (
        "You asked: &lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp; more"
    )
    message = render.render([Reply(text)], texts=TEXTS, feedback_prompt=PROMPT)[0]
    assert "<" not in message.text and "&amp;" in message.text


def test_link_labels_are_escaped_and_odd_urls_defused() -> None:
    assert render.link_mrkdwn(Link("A <b> & c|d", "https://x.org/p|q>r")) == (
        "<https://x.org/p%7Cq%3Er|A &lt;b&gt; &amp; c|d>"
    )
    assert render.link_mrkdwn(Link("Script", "javascript:alert(1)")) == "Script"
    assert render.link_mrkdwn(Link("Mail us", "mailto:hub@example.org")) == "<mailto:hub@example.org|Mail us>"


def test_choices_become_buttons_with_unique_action_ids() -> None:
    reply = Reply("Did you mean:", choices=(C("DWG cost", "faq:dwg-cost"), C("None of these", "faq:none")))
    blocks = blocks_of(reply)
    assert [b["type"] for b in blocks] == ["section", "actions"]
    assert [(e["action_id"], e["value"]) for e in buttons(blocks)] == [
        ("choice-0-0", "faq:dwg-cost"),
        ("choice-0-1", "faq:none"),
    ]


def test_long_text_is_split_into_sections_of_at_most_3000_characters() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(12)]
    blocks = blocks_of(Reply("\n\n".join(paragraphs)))
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) >= 3
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    joined = " ".join(s["text"]["text"] for s in sections)
    assert all(f"Paragraph {i}." in joined for i in range(12))


def test_split_never_cuts_an_escaped_entity() -> None:
    text = render.escape("x" * 2998 + "&&&&")
    pieces = render.split_text(text, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces) == text
    assert all(not p.endswith(("&", "&a", "&am", "&amp")) for p in pieces)


def test_more_than_25_choices_use_several_actions_blocks() -> None:
    reply = Reply("Pick one", choices=tuple(C(f"Option {i}", f"faq:o{i}") for i in range(30)))
    blocks = blocks_of(reply)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    assert len({a["block_id"] for a in actions}) == 2


def test_button_labels_truncated_and_oversized_values_dropped() -> None:
    long_label = "Can an early career teacher apply to the Mastery Specialist Programme in their first year?"
    reply = Reply("Pick", choices=(C(long_label, "faq:ok"), C("Too big", "x" * 2001), C("Edge", "y" * 2000)))
    elements = buttons(blocks_of(reply))
    assert len(elements[0]["text"]["text"]) == 75 and elements[0]["text"]["text"].endswith("…")
    assert [e["value"][:2] for e in elements] == ["fa", "yy"]


def test_feedback_buttons_sit_in_their_own_block_after_other_choices() -> None:
    reply = Reply(
        "Answer",
        choices=(C("More", "menu:help"), C("👍", "feedback:up:x"), C("👎", "feedback:down:x")),
        feedback=True,
    )
    blocks = blocks_of(reply)
    assert [b["block_id"] for b in blocks] == [
        "mastery-text-0-0",
        "mastery-choices-0-0",
        "mastery-prompt-0",
        "mastery-feedback-0-0",
    ]
    assert [e["value"] for e in blocks[3]["elements"]] == ["feedback:up:x", "feedback:down:x"]


def test_several_replies_share_one_message_with_unique_ids() -> None:
    replies = [
        Reply("Sorry, I lost track", choices=()),
        Reply("Hello!", choices=(C("Which programme fits me?", "menu:fit"), C("Help", "menu:help"))),
        Reply("Now, back:", choices=(C("Yes", "flow:yes"), C("No", "flow:no"))),
    ]
    messages = render.render(replies, texts=TEXTS, feedback_prompt=PROMPT)
    assert len(messages) == 1
    check_blocks(messages[0].blocks)
    assert messages[0].text == "Sorry, I lost track\n\nHello!\n\nNow, back:"


def test_more_than_50_blocks_go_into_further_messages() -> None:
    replies = [Reply(f"Reply {i}", links=(Link("Src", "https://x.org"),)) for i in range(40)]
    messages = render.render(replies, texts=TEXTS, feedback_prompt=PROMPT)
    assert len(messages) == 2
    for message in messages:
        check_blocks(message.blocks)
    assert sum(len(m.blocks) for m in messages) == 80


def test_fallback_text_is_bounded() -> None:
    message = render.render([Reply("a " * 5000)], texts=TEXTS, feedback_prompt=PROMPT)[0]
    assert len(message.text) <= 3000


def test_a_reply_offering_a_form_gets_an_open_form_button_when_the_form_exists() -> None:
    reply = Reply("I can pass this to your hub.", form="enquiry", choices=(C("Cancel", "menu:cancel"),))
    with_form = blocks_of(reply, forms=("enquiry",))
    form_block = next(b for b in with_form if b["block_id"] == "mastery-form-0")
    assert form_block["elements"] == [
        {
            "type": "button",
            "action_id": "form-enquiry",
            "text": {"type": "plain_text", "text": TEXTS.open_form, "emoji": True},
            "value": "enquiry",
            "style": "primary",
        }
    ]
    without = blocks_of(reply)  # no Slack form for it yet: the conversation carries on in chat
    assert all(b["block_id"] != "mastery-form-0" for b in without)


def test_clicked_message_loses_its_buttons_and_says_what_was_chosen() -> None:
    reply = Reply("Answer", choices=(C("👍", "feedback:up:x"), C("👎", "feedback:down:x")), feedback=True)
    original = blocks_of(reply)
    updated = render.mark_chosen(original, "👍 <Helpful>", TEXTS)
    assert [b["type"] for b in updated] == ["section", "context"]
    assert all("block_id" not in b for b in updated)
    assert updated[-1]["elements"][0]["text"] == "✓ You chose: *👍 &lt;Helpful&gt;*"
    check_blocks(updated)


def test_home_view(small_knowledge: Knowledge) -> None:
    view = render.home_view(small_knowledge.texts, TEXTS, command="/mastery", channel="D024BE91L")
    assert view["type"] == "home"
    assert view["private_metadata"] == '{"channel": "D024BE91L"}'
    check_blocks(view["blocks"], max_blocks=100)
    menu = next(b for b in view["blocks"] if b["type"] == "actions")
    assert [e["value"] for e in menu["elements"]] == ["menu:ask", "menu:fit", "menu:contact"]
    assert "`/mastery`" in view["blocks"][-1]["elements"][0]["text"]


@dataclass
class ExampleForm:
    name: str = "test-form"
    title: str = "A rather long form title for a modal"
    fields: tuple[FormField, ...] = field(
        default_factory=lambda: (
            FormField("topic", "Topic", max_length=100, placeholder="e.g. release time"),
            FormField("detail", "Detail", multiline=True, optional=True, hint="Anything else"),
        )
    )

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        return {}

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        return []


def test_form_modal() -> None:
    modal = render.form_modal(ExampleForm(), metadata='{"form":"test-form"}', texts=TEXTS)
    assert modal["type"] == "modal"
    assert modal["callback_id"] == "mastery-form-test-form"
    assert modal["private_metadata"] == '{"form":"test-form"}'
    assert len(modal["title"]["text"]) <= 24
    assert modal["submit"]["text"] == TEXTS.form_submit
    assert [(b["block_id"], b["optional"], b["element"]["multiline"]) for b in modal["blocks"]] == [
        ("topic", False, False),
        ("detail", True, True),
    ]
    assert modal["blocks"][0]["element"]["max_length"] == 100
    assert modal["blocks"][1]["hint"]["text"] == "Anything else"
    check_blocks(modal["blocks"], max_blocks=100)
    assert render.form_errors({"topic": "Say what it is about", "nope": "x"}, ExampleForm()) == {
        "topic": "Say what it is about"
    }


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_has_no_empty_section(text: str) -> None:
    blocks = render.reply_to_blocks(
        Reply(text, choices=(C("Help", "menu:help"),)), 0, texts=TEXTS, feedback_prompt=PROMPT
    )
    assert [b["type"] for b in blocks] == ["actions"]


def test_texts_file_is_valid() -> None:
    assert isinstance(load_slack_texts(), SlackTexts)
