"""Teams activity -> Inbound, on recorded activities (shapes from Microsoft's Teams bot documentation)."""

from __future__ import annotations

import pytest

from adapters.teams.translate import (
    UNKNOWN_ACTION,
    bot_was_added,
    button_value,
    conversation_key,
    describe,
    form_submission,
    strip_mentions,
    to_inbound,
)
from bot.messages import ConversationKey
from tests.adapters.teams.rig import load_activity

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_personal_message_keyed_by_tenant_user_and_conversation() -> None:
    activity = load_activity("personal_message")
    inbound = to_inbound(activity)
    assert inbound is not None
    assert inbound.text == "Is the DWG free?"
    assert inbound.action is None
    assert inbound.key == ConversationKey(
        "teams", TENANT, "7faf8ab2-3d56-4244-b585-20c8a42ed2b8", activity["conversation"]["id"]
    )
    assert inbound.display_name == "Megan Bowen"


def test_channel_mention_is_removed_and_thread_is_the_conversation() -> None:
    inbound = to_inbound(load_activity("channel_mention"))
    assert inbound is not None
    assert inbound.text == "is the DWG free?"
    assert inbound.key.conversation_id.endswith(";messageid=1481567603816")
    assert inbound.key.workspace == TENANT


def test_group_chat_mention_with_nbsp() -> None:
    inbound = to_inbound(load_activity("group_chat_mention"))
    assert inbound is not None
    assert inbound.text == "how long does the specialist programme take?"
    assert inbound.key.workspace == "b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"


def test_channel_message_without_mention_is_ignored() -> None:
    assert to_inbound(load_activity("channel_without_mention")) is None


def test_mention_of_someone_else_does_not_count_and_keeps_their_name() -> None:
    activity = load_activity("channel_mention")
    activity["entities"][0]["mentioned"]["id"] = "29:someone-else"
    assert to_inbound(activity) is None
    activity["conversation"]["conversationType"] = "personal"
    inbound = to_inbound(activity)
    assert inbound is not None and inbound.text == "Mastery Assistant is the DWG free?"


def test_mention_text_that_differs_from_the_entity_is_still_removed() -> None:
    # Microsoft's own example has entity text '<at>@Name</at>' while the message says '<at>Name</at>'.
    activity = load_activity("channel_mention")
    activity["entities"][0]["text"] = "<at>@Mastery Assistant</at>"
    assert strip_mentions(activity) == "is the DWG free?"


def test_mention_in_the_middle_of_the_text() -> None:
    activity = load_activity("channel_mention", text="So <at>Mastery Assistant</at> is the DWG free?")
    assert strip_mentions(activity) == "So is the DWG free?"


def test_bare_mention_gives_empty_text_for_the_engine_to_answer() -> None:
    inbound = to_inbound(load_activity("channel_mention", text="<at>Mastery Assistant</at>"))
    assert inbound is not None and inbound.text == ""


def test_card_submit_value_becomes_the_action() -> None:
    inbound = to_inbound(load_activity("card_submit"))
    assert inbound is not None
    assert inbound.action == "faq:dwg-cost"
    assert inbound.text is None


def test_card_submit_in_a_channel_needs_no_mention() -> None:
    activity = load_activity("card_submit")
    activity["conversation"] = load_activity("channel_mention")["conversation"]
    inbound = to_inbound(activity)
    assert inbound is not None and inbound.action == "faq:dwg-cost"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"action": "menu:help"}, "menu:help"),
        ('{"action": "menu:fit"}', "menu:fit"),  # messageBack may carry the data as a JSON string
        ({"action": "  feedback:up:dwg-cost "}, "feedback:up:dwg-cost"),
        ({"other": "x"}, None),
        ({"action": 5}, None),
        ({"action": ""}, None),
        ({"action": "x" * 301}, None),
        ("not json", None),
        ([1, 2], None),
    ],
)
def test_button_value(value: object, expected: str | None) -> None:
    assert button_value({"type": "message", "value": value}) == expected


def test_press_on_a_card_we_cannot_read_is_an_expired_button() -> None:
    inbound = to_inbound(load_activity("card_submit", value={"name": "Ada"}))
    assert inbound is not None and inbound.action == UNKNOWN_ACTION


def test_message_back_with_text_and_no_action_reads_the_text() -> None:
    inbound = to_inbound(load_activity("card_submit", value={"id": 7}, text="help"))
    assert inbound is not None and inbound.text == "help" and inbound.action is None


def test_conversation_type_falls_back_to_is_group() -> None:
    activity = load_activity("channel_without_mention")
    del activity["conversation"]["conversationType"]
    assert to_inbound(activity) is None  # isGroup: a mention is still needed
    del activity["conversation"]["isGroup"]
    assert to_inbound(activity) is not None


@pytest.mark.parametrize("name", ["message_reaction", "installation_update", "typing", "message_update_edit"])
def test_non_messages_are_not_inbound(name: str) -> None:
    assert to_inbound(load_activity(name)) is None


def test_messages_from_bots_are_ignored() -> None:
    activity = load_activity("personal_message")
    activity["from"] = {"id": "28:another-bot", "name": "Other bot"}
    assert to_inbound(activity) is None
    activity["from"] = {"id": "x", "role": "bot"}
    assert to_inbound(activity) is None


def test_picture_only_message_is_not_text() -> None:
    activity = load_activity(
        "personal_message",
        text="",
        attachments=[{"contentType": "image/png", "contentUrl": "https://example.org/a.png"}],
    )
    inbound = to_inbound(activity)
    assert inbound is not None and inbound.text is None


def test_missing_conversation_is_ignored() -> None:
    activity = load_activity("personal_message")
    del activity["conversation"]
    assert to_inbound(activity) is None
    assert conversation_key(activity) is None


@pytest.mark.parametrize(
    ("name", "added"),
    [
        ("conversation_update_personal_install", True),
        ("conversation_update_team_install", True),
        ("emulator_conversation_update", True),
        ("conversation_update_user_added", False),
        ("installation_update", False),
        ("personal_message", False),
    ],
)
def test_bot_was_added(name: str, added: bool) -> None:
    assert bot_was_added(load_activity(name)) is added


def test_emulator_message_has_no_tenant() -> None:
    inbound = to_inbound(load_activity("emulator_message"))
    assert inbound is not None
    assert inbound.key.workspace == ""
    assert inbound.key.user_id == "5b5f8e4a-3c2d-4f1a-8b7e-6d9c0a1b2e3f"


def test_describe_has_no_text_or_names() -> None:
    fields = describe(load_activity("channel_mention"))
    assert fields == {"activity_type": "message", "conversation_type": "channel", "channel": "msteams"}


def test_form_submission_carries_the_inputs() -> None:
    activity = load_activity(
        "card_submit",
        value={
            "action": "card-form:enquiry",
            "email": "ada@school.sch.uk",
            "question": "Is it free?",
            "n": 3,
        },
    )
    submission = form_submission(activity)
    assert submission is not None
    assert submission.form == "enquiry"
    assert submission.values == {"email": "ada@school.sch.uk", "question": "Is it free?"}
    assert form_submission(load_activity("card_submit")) is None  # an ordinary button
