"""Replies -> Adaptive Card activities: structure, escaping, links, buttons, fallback text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.teams.render import (
    CARD_CONTENT_TYPE,
    card_of,
    escape_markdown,
    form_card,
    plain_text,
    render,
    render_form,
    render_reply,
    safe_url,
    to_markdown,
)
from bot.messages import Choice, Link, Reply
from tests.adapters.teams.rig import FakeEnquiryForm

ANSWER = Reply(
    "It is fully funded, so it is free to participating schools.",
    choices=(
        Choice("👍 Helpful", "feedback:up:dwg-cost"),
        Choice("👎 Not helpful", "feedback:down:dwg-cost"),
    ),
    links=(Link("Source: NCETM – Secondary offers", "https://www.ncetm.org.uk/teaching-for-mastery"),),
    kind="answer",
    faq_id="dwg-cost",
    feedback=True,
)


def card(reply: Reply, **kwargs: Any) -> dict[str, Any]:
    found = card_of(render_reply(reply, **kwargs))
    assert found is not None
    return found


def test_answer_card_structure() -> None:
    activity = render_reply(ANSWER, feedback_prompt="Was this helpful?")
    assert activity["type"] == "message"
    assert "text" not in activity  # Teams would split text + card into two posts
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == CARD_CONTENT_TYPE
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard"
    assert float(content["version"]) <= 1.5
    assert content["msteams"] == {"width": "Full"}
    blocks = content["body"]
    assert all(b["type"] == "TextBlock" and b["wrap"] is True for b in blocks)
    assert blocks[0]["text"] == "It is fully funded, so it is free to participating schools."
    assert blocks[1]["text"] == (
        "[Source: NCETM – Secondary offers](https://www.ncetm.org.uk/teaching-for-mastery)"
    )
    assert blocks[2]["text"] == "Was this helpful?"
    assert content["actions"] == [
        {"type": "Action.Submit", "title": "👍 Helpful", "data": {"action": "feedback:up:dwg-cost"}},
        {"type": "Action.Submit", "title": "👎 Not helpful", "data": {"action": "feedback:down:dwg-cost"}},
    ]


def test_plain_text_fallback_in_summary_and_card() -> None:
    activity = render_reply(ANSWER)
    expected = (
        "It is fully funded, so it is free to participating schools.\n\n"
        "1. 👍 Helpful\n2. 👎 Not helpful\n"
        "Source: NCETM – Secondary offers: https://www.ncetm.org.uk/teaching-for-mastery"
    )
    assert activity["summary"] == expected
    assert card_of(activity)["fallbackText"] == expected  # type: ignore[index]


def test_reply_without_buttons_has_no_actions() -> None:
    content = card(Reply("Thanks for letting me know!"))
    assert "actions" not in content
    assert content["body"] == [{"type": "TextBlock", "text": "Thanks for letting me know!", "wrap": True}]


def test_render_keeps_order_one_activity_per_reply() -> None:
    activities = render(
        [Reply("Let's start again."), Reply("Hello!", choices=(Choice("Help", "menu:help"),))]
    )
    assert [card_of(a)["body"][0]["text"] for a in activities] == ["Let's start again.", "Hello!"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("*bold* and _italic_", r"\*bold\* and \_italic\_"),
        # the URL becomes a link that shows itself: no hidden target behind innocent words
        ("[click](https://evil.example)", r"\[click\]([https://evil.example](https://evil.example))"),
        ("`code` ~~gone~~", r"\`code\` \~\~gone\~\~"),
        ("back\\slash", r"back\\slash"),
        ("# not a heading", r"\# not a heading"),
        ("> not a quote", r"\> not a quote"),
        ("1. not a list", r"1\. not a list"),
        ("+ not a list", r"\+ not a list"),
    ],
)
def test_user_text_cannot_format_the_card(text: str, shown: str) -> None:
    assert to_markdown(text) == shown


def test_bullets_stay_a_list_and_the_next_line_is_a_new_paragraph() -> None:
    text = "Here is what I can do:\n- answer *questions*\n- pass it on\n\nType your question."
    assert to_markdown(text) == (
        "Here is what I can do:\n\n- answer \\*questions\\*\n- pass it on\n\nType your question."
    )


def test_lines_are_kept_apart() -> None:
    assert to_markdown("one\ntwo") == "one\n\ntwo"


def test_bare_urls_become_checked_links() -> None:
    text = "find your hub at https://www.ncetm.org.uk/maths-hubs (there are 40)."
    assert to_markdown(text) == (
        "find your hub at [https://www.ncetm.org.uk/maths-hubs](https://www.ncetm.org.uk/maths-hubs)"
        " (there are 40)."
    )


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("see https://example.org/a_(b)", r"see [https://example.org/a\_(b)](https://example.org/a_%28b%29)"),
        ("(see https://example.org/x).", "(see [https://example.org/x](https://example.org/x))."),
    ],
)
def test_url_punctuation_and_brackets(text: str, markdown: str) -> None:
    md = to_markdown(text)
    assert md == markdown
    for target in re.findall(r"\]\(([^)]*)\)", md):
        assert "(" not in target  # a raw bracket in the target would end the link early


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.org/x",
        "https://",
        "https://a b.org",
        "//x.org",
    ],
)
def test_unsafe_links_are_dropped(url: str) -> None:
    assert safe_url(url) is None
    content = card(Reply("text", links=(Link("Click", url),)))
    assert len(content["body"]) == 1
    assert url not in plain_text(Reply("text", links=(Link("Click", url),)))


def test_link_label_is_escaped_and_url_encoded() -> None:
    content = card(Reply("text", links=(Link("A [label]", "https://example.org/x (y)".replace(" ", "")),)))
    assert content["body"][1]["text"] == r"[A \[label\]](https://example.org/x%28y%29)"


def test_escape_markdown_round_trip_characters() -> None:
    assert escape_markdown("a_b*c[d]e`f~g\\h") == r"a\_b\*c\[d\]e\`f\~g\\h"


def test_form_reply_offers_the_form_when_one_is_registered() -> None:
    reply = Reply("I can pass this on.", choices=(Choice("Cancel", "menu:cancel"),), form="enquiry")
    content = card(reply, forms={"enquiry": FakeEnquiryForm()})
    show = content["actions"][-1]
    assert show["type"] == "Action.ShowCard"
    assert show["title"] == "Open form"
    assert [i["type"] for i in show["card"]["body"]] == ["Input.Text", "Input.ChoiceSet", "Input.Text"]
    assert show["card"]["actions"] == [
        {"type": "Action.Submit", "title": "Send", "data": {"action": "card-form:enquiry"}}
    ]


def test_form_reply_without_a_registered_form_stays_conversational() -> None:
    reply = Reply("I can pass this on.", choices=(Choice("Cancel", "menu:cancel"),), form="enquiry")
    content = card(reply, forms={})
    assert [a["type"] for a in content["actions"]] == ["Action.Submit"]


def test_very_long_text_is_capped() -> None:
    activity = render_reply(Reply("x" * 50_000))
    assert len(activity["summary"]) <= 20_000
    assert len(card_of(activity)["body"][0]["text"]) <= 20_000  # type: ignore[index]


def test_form_inputs_carry_teams_inline_validation() -> None:
    email, role, question = form_card(FakeEnquiryForm())["body"]
    assert email == {
        "type": "Input.Text",
        "id": "email",
        "label": "Your school email",
        "isRequired": True,
        "errorMessage": "Enter your email address",
        "isMultiline": False,
        "style": "email",
    }
    assert role["type"] == "Input.ChoiceSet"
    assert role["choices"] == [
        {"title": "Teacher", "value": "teacher"},
        {"title": "Head of maths", "value": "hod"},
    ]
    assert question["isMultiline"] is True and question["maxLength"] == 2000


def test_resent_form_keeps_values_and_shows_problems_under_their_fields() -> None:
    values = {"email": "ada@example.com", "role": "hod", "question": "*Is* it free?"}
    activity = render_form(FakeEnquiryForm(), values, {"email": "Use your school email"})
    content = card_of(activity)
    assert content is not None
    body = content["body"]
    assert body[0]["value"] == "ada@example.com"
    assert body[1] == {
        "type": "TextBlock",
        "text": "Use your school email",
        "wrap": True,
        "color": "Attention",
        "size": "Small",
        "spacing": "None",
    }
    assert body[2]["value"] == "hod"
    assert body[3]["value"] == "*Is* it free?"  # an input's value is shown as typed, not as markdown
    assert activity["summary"] == "Use your school email"
