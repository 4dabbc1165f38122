"""Slack payloads → Inbound, on recorded payloads (tests/fixtures/slack) modelled on Slack's examples."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from adapters.slack import translate
from adapters.slack.translate import ReplyTo
from bot.messages import ConversationKey
from tests.adapters.slack.mock_slack import BOT_USER_ID, load


def with_event(name: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = load(name)
    payload["event"].update(changes)
    return payload


def test_direct_message() -> None:
    turn = translate.from_event(load("message_im.json"), bot_user_id=BOT_USER_ID)
    assert turn is not None
    assert turn.inbound.key == ConversationKey("slack", "T061EG9R6", "U2147483697", "D024BE91L")
    assert turn.inbound.text == "Is the DWG free?"
    assert turn.inbound.action is None
    assert turn.reply_to == ReplyTo(channel="D024BE91L")
    assert turn.dedupe_id == "event:Ev0PV52K21"


def test_mention_is_stripped_text_unescaped_and_answered_in_a_thread() -> None:
    turn = translate.from_event(load("app_mention.json"), bot_user_id=BOT_USER_ID)
    assert turn is not None
    assert turn.inbound.text == "how long does the Mastery Specialist Programme take & is it free?"
    assert turn.inbound.key.conversation_id == "C123ABC456:1515449522.000016"
    assert turn.reply_to == ReplyTo(channel="C123ABC456", thread_ts="1515449522.000016")


def test_mention_inside_a_thread_joins_that_threads_conversation() -> None:
    turn = translate.from_event(load("app_mention_in_thread.json"), bot_user_id=BOT_USER_ID)
    assert turn is not None
    assert turn.inbound.text == "is the DWG free? cc @U0G9QF9C6"
    assert turn.inbound.key.conversation_id == "C123ABC456:1515449522.000016"  # the thread's root
    assert turn.reply_to.thread_ts == "1515449522.000016"


def test_mention_of_another_bot_id_is_still_stripped_when_leading() -> None:
    payload = with_event("app_mention.json", text="<@U99999999> is the DWG free?")
    turn = translate.from_event(payload, bot_user_id=None)
    assert turn is not None and turn.inbound.text == "is the DWG free?"


@pytest.mark.parametrize(
    ("slack_text", "typed"),
    [
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
        (
            "see <https://www.ncetm.org.uk|NCETM> and <https://example.org/a?b=1&amp;c=2>",
            "see NCETM and https://example.org/a?b=1&c=2",
        ),
        ("ask <#C024BE7LR|maths-dept> or <!here>", "ask #maths-dept or @here"),
        ("mail <mailto:hub@example.org|hub@example.org>", "mail hub@example.org"),
        (f"<@{BOT_USER_ID}>   hello   <@{BOT_USER_ID}|mastery>", "hello"),
        ("line one\nline two", "line one\nline two"),
    ],
)
def test_plain_text(slack_text: str, typed: str) -> None:
    assert translate.plain_text(slack_text, bot_user_id=BOT_USER_ID) == typed


@pytest.mark.parametrize(
    "name",
    [
        "message_bot_message.json",
        "message_im_from_our_bot.json",
        "message_changed.json",
        "message_deleted.json",
    ],
)
def test_bot_messages_edits_and_deletions_are_ignored(name: str) -> None:
    assert translate.from_event(load(name), bot_user_id=BOT_USER_ID) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"user": BOT_USER_ID},  # our own user, even without bot_id
        {"subtype": "channel_join"},
        {"subtype": "file_share"},
        {"subtype": "thread_broadcast"},
        {"edited": {"user": "U2147483697", "ts": "1355517530.000000"}},
        {"channel_type": "channel", "channel": "C024BE91L"},  # channel chatter only counts as a mention
        {"text": None},
        {"user": None},
    ],
)
def test_other_message_shapes_are_ignored(changes: dict[str, Any]) -> None:
    assert translate.from_event(with_event("message_im.json", **changes), bot_user_id=BOT_USER_ID) is None


def test_events_we_do_not_handle_are_ignored() -> None:
    assert translate.from_event(load("app_home_opened.json")) is None
    assert translate.from_event(load("url_verification.json")) is None


def test_older_documented_dm_shape_without_team_in_event() -> None:
    """Slack's message.im example: no `event.team`, `authed_teams` instead of `authorizations`."""
    payload = {
        "token": "one-long-verification-token",
        "team_id": "T061EG9R6",
        "api_app_id": "A0PNCHHK2",
        "event": {
            "type": "message",
            "channel": "D024BE91L",
            "user": "U2147483697",
            "text": "Hello hello can you hear me?",
            "ts": "1355517523.000005",
            "event_ts": "1355517523.000005",
            "channel_type": "im",
        },
        "type": "event_callback",
        "authed_teams": ["T061EG9R6"],
        "event_id": "Ev0PV52K21",
        "event_time": 1355517523,
    }
    turn = translate.from_event(payload)
    assert turn is not None and turn.inbound.key.workspace == "T061EG9R6"


def test_home_opened() -> None:
    opened = translate.home_opened(load("app_home_opened.json"))
    assert opened == translate.HomeOpened(team="T061EG9R6", user="U2147483697", channel="D024BE91L")
    assert translate.home_opened(with_event("app_home_opened.json", tab="messages")) is None


def test_slash_command() -> None:
    fields = dict(urllib.parse.parse_qsl(load("slash_command.txt")))
    turn = translate.from_command(fields)
    assert turn is not None
    assert turn.inbound.text == "is the DWG free?"
    assert turn.inbound.key == ConversationKey("slack", "T061EG9R6", "U2147483697", "C2147483705")
    assert turn.reply_to == ReplyTo(
        channel="C2147483705",
        ephemeral_user="U2147483697",
        response_url="https://hooks.slack.com/commands/1234/5678",
    )
    assert turn.dedupe_id is None


def test_slash_command_alone_opens_the_menu_and_lists_are_accepted() -> None:
    turn = translate.from_command({"user_id": ["U1"], "channel_id": ["D1"], "team_id": ["T1"], "text": [""]})
    assert turn is not None
    assert turn.inbound.text is None and turn.inbound.action == "menu:help"
    assert translate.from_command({"channel_id": "C1"}) is None


def test_button_click_on_our_dm_message() -> None:
    click = translate.from_block_actions(load("block_actions.json"))
    assert click is not None
    assert click.turn.inbound.action == "faq:dwg-cost"
    assert click.turn.inbound.key == ConversationKey("slack", "T061EG9R6", "U2147483697", "D024BE91L")
    assert click.turn.reply_to.channel == "D024BE91L" and click.turn.reply_to.thread_ts is None
    assert click.turn.reply_to.ephemeral_user is None
    assert click.turn.dedupe_id == "click:D024BE91L:1548261231.000200"
    assert click.label == "Does the Development Work Group cost anything?"
    assert click.ours and not click.ephemeral
    assert click.blocks is not None and click.blocks[1]["type"] == "actions"


def test_button_click_on_an_ephemeral_message() -> None:
    click = translate.from_block_actions(load("block_actions_ephemeral.json"))
    assert click is not None
    assert click.ephemeral and click.blocks is None
    assert click.turn.inbound.action == "feedback:up:dwg-cost"
    assert click.turn.inbound.key.conversation_id == "C2147483705"  # same as the slash command's
    assert click.turn.reply_to.ephemeral_user == "U2147483697"
    assert click.turn.reply_to.response_url is not None


def test_button_click_in_a_mention_thread_stays_in_that_conversation() -> None:
    click = translate.from_block_actions(load("block_actions_open_form.json"))
    assert click is not None
    assert click.turn.inbound.key.conversation_id == "C123ABC456:1515449522.000016"
    assert click.turn.reply_to.thread_ts == "1515449522.000016"


def test_home_tab_button_answers_in_the_dm() -> None:
    click = translate.from_block_actions(load("block_actions_home.json"))
    assert click is not None
    assert click.turn.inbound.action == "menu:ask"
    assert click.turn.inbound.key.conversation_id == "D024BE91L"
    assert click.turn.reply_to == ReplyTo(channel="D024BE91L")
    assert click.message_ts is None and click.turn.dedupe_id is None


def test_button_of_another_app_is_not_ours() -> None:
    payload = load("block_actions.json")
    payload["actions"][0].update(block_id="=qXel", action_id="WaXA", value="click_me_123")
    click = translate.from_block_actions(payload)
    assert click is not None and not click.ours and click.turn.dedupe_id is None
    assert click.turn.inbound.action == "click_me_123"


def test_select_menu_option_is_taken_as_the_value() -> None:
    payload = load("block_actions.json")
    payload["actions"][0] = {
        "type": "static_select",
        "action_id": "pick",
        "block_id": "mastery-choices-0-0",
        "selected_option": {"text": {"type": "plain_text", "text": "Help"}, "value": "menu:help"},
    }
    click = translate.from_block_actions(payload)
    assert click is not None and click.turn.inbound.action == "menu:help" and click.label == "Help"


def test_form_opening_and_round_trip_of_its_metadata() -> None:
    opening = translate.form_opening(load("block_actions_open_form.json"))
    assert opening is not None
    assert opening.form == "test-form"
    assert opening.trigger_id == "12466734323.1395872398.d2f1b6d3e43dfc8d0f6bd1d4cc4a0d2b"
    submission_payload = load("view_submission.json")
    submission_payload["view"]["private_metadata"] = translate.form_metadata(opening)
    submission = translate.form_submission(submission_payload)
    assert submission is not None
    assert submission.key == opening.key
    assert submission.reply_to == ReplyTo(channel="C123ABC456", thread_ts="1515449522.000016")
    assert translate.form_opening(load("block_actions.json")) is None  # not an "Open form" button


def test_form_submission_values() -> None:
    submission = translate.form_submission(load("view_submission.json"))
    assert submission is not None
    assert submission.form == "test-form"
    assert submission.values == {"topic": "Release time", "detail": ""}
    assert submission.key == ConversationKey(
        "slack", "T061EG9R6", "U061F7AUR", "C123ABC456:1515449522.000016"
    )


def test_submissions_of_other_modals_are_not_ours() -> None:
    payload = load("view_submission.json")
    payload["view"]["callback_id"] = "view-id"
    assert translate.form_submission(payload) is None
    payload = load("view_submission.json")
    payload["view"]["private_metadata"] = "This is for you!"
    assert translate.form_submission(payload) is None


def test_dm_thread_reply_is_answered_in_the_thread_but_stays_one_conversation() -> None:
    turn = translate.from_event(
        with_event("message_im.json", thread_ts="1355517500.000001"), bot_user_id=BOT_USER_ID
    )
    assert turn is not None
    assert turn.inbound.key.conversation_id == "D024BE91L"
    assert turn.reply_to == ReplyTo(channel="D024BE91L", thread_ts="1355517500.000001")
