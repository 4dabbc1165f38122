"""Real-shaped Slack payloads (Slack's documented examples, bolt-python's test payloads and our recorded
fixtures) posted signed to the running app: each gets a sensible reply, or none, and never an error."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.slack.app import SlackFrontEnd
from tests.adapters.slack.blockkit import check_blocks
from tests.adapters.slack.conftest import post
from tests.adapters.slack.mock_slack import FIXTURES, MockSlack, load


def wrapped(event: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {
        "token": "one-long-verification-token",
        "team_id": "T061EG9R6",
        "api_app_id": "A0PNCHHK2",
        "event": event,
        "type": "event_callback",
        "event_id": envelope.pop("event_id", "Ev0PV52K21"),
        "event_time": 1355517523,
        **envelope,
    }


DOCUMENTED: dict[str, tuple[dict[str, Any] | str, str | None]] = {
    # Slack API docs, message.im example
    "docs_message_im": (
        wrapped(
            {
                "type": "message",
                "channel": "D024BE91L",
                "user": "U2147483697",
                "text": "Hello hello can you hear me?",
                "ts": "1355517523.000005",
                "event_ts": "1355517523.000005",
                "channel_type": "im",
            },
            authed_teams=["T061EG9R6"],
        ),
        "chat.postMessage",
    ),
    # Slack API docs, app_mention example
    "docs_app_mention": (
        wrapped(
            {
                "type": "app_mention",
                "user": "U061F7AUR",
                "text": "<@U0LAN0Z89> is it everything a river should be?",
                "ts": "1515449522.000016",
                "channel": "C123ABC456",
                "event_ts": "1515449522000016",
            },
            event_id="Ev0MDYHUEL",
        ),
        "chat.postMessage",
    ),
    # bolt-python tests: app_mention in an Enterprise Grid workspace
    "bolt_app_mention": (
        {
            "token": "verification_token",
            "team_id": "T111",
            "enterprise_id": "E111",
            "api_app_id": "A111",
            "event": {
                "client_msg_id": "9cbd4c5b-7ddf-4ede-b479-ad21fca66d63",
                "type": "app_mention",
                "text": "<@W111> Hi there!",
                "user": "W222",
                "ts": "1595926230.009600",
                "team": "T111",
                "channel": "C111",
                "event_ts": "1595926230.009600",
            },
            "type": "event_callback",
            "event_id": "Ev111",
            "event_time": 1595926230,
            "authed_users": ["W111"],
        },
        "chat.postMessage",
    ),
    # bolt-python tests: a user's message in a channel (we only answer mentions there)
    "bolt_channel_message": (
        wrapped(
            {
                "client_msg_id": "968c94da-c271-4f2a-8ec9-12a9985e5df4",
                "type": "message",
                "text": "Hi there! Thanks for sharing the info!",
                "user": "W111",
                "ts": "1610261659.001400",
                "team": "T111",
                "channel": "C111",
                "event_ts": "1610261659.001400",
                "channel_type": "channel",
            },
            event_id="Ev111",
        ),
        None,
    ),
    # bolt-python tests: another app's bot message (modern shape: bot_id, no subtype)
    "bolt_other_bot": (
        wrapped(
            {
                "bot_id": "B999",
                "type": "message",
                "text": "Hi there! Thanks for sharing the info!",
                "user": "UB111",
                "ts": "1610261539.000900",
                "team": "T111",
                "channel": "D111",
                "event_ts": "1610261539.000900",
                "channel_type": "im",
            },
            event_id="Ev222",
        ),
        None,
    ),
    # bolt-python tests: reaction_added (not subscribed, but must not error)
    "bolt_reaction_added": (
        wrapped(
            {
                "type": "reaction_added",
                "user": "W111",
                "item": {"type": "message", "channel": "C111", "ts": "1599529504.000400"},
                "reaction": "heart_eyes",
                "item_user": "W111",
                "event_ts": "1599616881.000800",
            },
            event_id="Ev111",
        ),
        None,
    ),
    # Slack API docs, slash command example
    "docs_slash_command": (
        "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=E0001"
        "&enterprise_name=Globular%20Construct%20Inc&channel_id=C2147483705&channel_name=test"
        "&user_id=U2147483697&user_name=Steve&command=/weather&text=94070"
        "&response_url=https://hooks.slack.com/commands/1234/5678"
        "&trigger_id=13345224609.738474920.8088930838d88f008e0&api_app_id=A123456",
        "chat.postEphemeral",
    ),
    # bolt-python tests: slash command
    "bolt_slash_command": (
        "token=verification_token&team_id=T111&team_domain=test-domain&channel_id=C111&channel_name=random"
        "&user_id=W111&user_name=primary-owner&command=%2Fhello-world&text=Hi&enterprise_id=E111"
        "&enterprise_name=Org+Name&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT111%2F111%2Fxxxxx"
        "&trigger_id=111.111.xxx",
        "chat.postEphemeral",
    ),
    # bolt-python tests: a button on an ephemeral message of some other app version
    "bolt_block_actions": (
        {
            "type": "block_actions",
            "user": {"id": "W111", "username": "primary-owner", "name": "primary-owner", "team_id": "T111"},
            "api_app_id": "A111",
            "token": "verification_token",
            "container": {
                "type": "message",
                "message_ts": "111.222",
                "channel_id": "C111",
                "is_ephemeral": True,
            },
            "trigger_id": "111.222.valid",
            "team": {
                "id": "T111",
                "domain": "workspace-domain",
                "enterprise_id": "E111",
                "enterprise_name": "Sandbox Org",
            },
            "channel": {"id": "C111", "name": "test-channel"},
            "response_url": "https://hooks.slack.com/actions/T111/111/random-value",
            "actions": [
                {
                    "action_id": "a",
                    "block_id": "b",
                    "text": {"type": "plain_text", "text": "Button", "emoji": True},
                    "value": "click_me_123",
                    "type": "button",
                    "action_ts": "1596530385.194939",
                }
            ],
        },
        "chat.postEphemeral",
    ),
    # Slack API docs, block_actions example (a button in a message attachment)
    "docs_block_actions_attachment": (
        {
            "type": "block_actions",
            "team": {"id": "T9TK3CUKW", "domain": "example"},
            "user": {"id": "UA8RXUSPL", "username": "jtorrance", "team_id": "T9TK3CUKW"},
            "api_app_id": "AABA1ABCD",
            "token": "9s8d9as89d8as9d8as989",
            "container": {
                "type": "message_attachment",
                "message_ts": "1548261231.000200",
                "attachment_id": 1,
                "channel_id": "CBR2V3XEX",
                "is_ephemeral": False,
                "is_app_unfurl": False,
            },
            "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
            "channel": {"id": "CBR2V3XEX", "name": "review-updates"},
            "message": {
                "bot_id": "BAH5CA16Z",
                "type": "message",
                "text": "This content can't be displayed.",
                "user": "UAJ2RU415",
                "ts": "1548261231.000200",
            },
            "response_url": "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209",
            "actions": [
                {
                    "action_id": "WaXA",
                    "block_id": "=qXel",
                    "text": {"type": "plain_text", "text": "View", "emoji": True},
                    "value": "click_me_123",
                    "type": "button",
                    "action_ts": "1548426417.840180",
                }
            ],
        },
        "chat.postMessage",
    ),
    # bolt-python tests: a view_submission of a modal that is not ours
    "bolt_view_submission": (
        {
            "type": "view_submission",
            "team": {
                "id": "T111",
                "domain": "workspace-domain",
                "enterprise_id": "E111",
                "enterprise_name": "Sandbox Org",
            },
            "user": {"id": "W111", "username": "primary-owner", "name": "primary-owner", "team_id": "T111"},
            "api_app_id": "A111",
            "token": "verification_token",
            "trigger_id": "111.222.valid",
            "view": {
                "id": "V111",
                "team_id": "T111",
                "type": "modal",
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "hspI",
                        "label": {"type": "plain_text", "text": "Label"},
                        "optional": False,
                        "element": {"type": "plain_text_input", "action_id": "maBWU"},
                    }
                ],
                "private_metadata": "This is for you!",
                "callback_id": "view-id",
                "state": {"values": {"hspI": {"maBWU": {"type": "plain_text_input", "value": "test"}}}},
                "hash": "1596530361.3wRYuk3R",
                "title": {"type": "plain_text", "text": "My App"},
                "root_view_id": "V111",
                "app_id": "A111",
                "bot_id": "B111",
            },
            "response_urls": [],
        },
        None,
    ),
    # Slack's ssl_check ping for slash command URLs
    "ssl_check": ("ssl_check=1&token=verification_token", None),
    # Slack API docs: Events API rate limiting notice
    "docs_app_rate_limited": (
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "type": "app_rate_limited",
            "team_id": "T123456",
            "minute_rate_limited": 1518467820,
            "api_app_id": "A123456",
        },
        None,
    ),
    # Slack API docs: app_uninstalled and tokens_revoked
    "docs_app_uninstalled": (wrapped({"type": "app_uninstalled"}, event_id="Ev0UNINST"), None),
    "docs_tokens_revoked": (
        wrapped({"type": "tokens_revoked", "tokens": {"oauth": ["UXXXXXXXX"], "bot": ["UXXXXXXXX"]}}),
        None,
    ),
    # A reply inside a DM thread: answered in that thread
    "dm_thread_reply": (
        wrapped(
            {
                "type": "message",
                "channel": "D024BE91L",
                "user": "U2147483697",
                "text": "and how long does it take?",
                "ts": "1355517600.000010",
                "thread_ts": "1355517523.000005",
                "parent_user_id": "U0LAN0Z89",
                "event_ts": "1355517600.000010",
                "channel_type": "im",
            },
            event_id="Ev0DMTHREAD",
        ),
        "chat.postMessage",
    ),
    # A file shared in a DM: a subtype, so not answered (the text of the upload is not a question to us)
    "file_share_subtype": (
        wrapped(
            {
                "type": "message",
                "subtype": "file_share",
                "channel": "D024BE91L",
                "user": "U2147483697",
                "text": "here is our timetable",
                "files": [{"id": "F0123ABCD", "name": "timetable.pdf", "mimetype": "application/pdf"}],
                "upload": False,
                "ts": "1355517700.000020",
                "event_ts": "1355517700.000020",
                "channel_type": "im",
            },
            event_id="Ev0FILE",
        ),
        None,
    ),
}


RECORDED: dict[str, str | None] = {
    "message_im.json": "chat.postMessage",
    "app_mention.json": "chat.postMessage",
    "app_mention_in_thread.json": "chat.postMessage",
    "message_bot_message.json": None,
    "message_im_from_our_bot.json": None,
    "message_changed.json": None,
    "message_deleted.json": None,
    "app_home_opened.json": "views.publish",
    "block_actions.json": "chat.postMessage",
    "block_actions_home.json": "chat.postMessage",
    "block_actions_open_form.json": "chat.postMessage",  # no form registered yet: says so
    "url_verification.json": None,
    "view_submission.json": None,  # our callback id, but no such form registered
}


def test_every_recorded_fixture_is_exercised() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir()} - {"slash_command.txt", "block_actions_ephemeral.json"}
    assert on_disk == set(RECORDED)


async def check(
    client: TestClient,
    front: SlackFrontEnd,
    mock_slack: MockSlack,
    caplog: pytest.LogCaptureFixture,
    payload: dict[str, Any] | str,
    expected: str | None,
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await post(client, payload)
        assert response.status == 200, await response.text()
        await front.drain()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    methods = mock_slack.methods()
    if expected is None:
        assert methods == []
    else:
        assert expected in methods
    for call in mock_slack.calls:
        blocks = call.args.get("blocks") or call.args.get("view", {}).get("blocks")
        if blocks:
            check_blocks(blocks, max_blocks=100 if "view" in call.args else 50)
    for call in mock_slack.called("chat.postMessage") + mock_slack.called("chat.postEphemeral"):
        assert call.args["text"]


@pytest.mark.parametrize(("payload", "expected"), DOCUMENTED.values(), ids=DOCUMENTED.keys())
async def test_documented_payloads(
    client: TestClient,
    front: SlackFrontEnd,
    mock_slack: MockSlack,
    caplog: pytest.LogCaptureFixture,
    payload: dict[str, Any] | str,
    expected: str | None,
) -> None:
    await check(client, front, mock_slack, caplog, payload, expected)


@pytest.mark.parametrize(("name", "expected"), RECORDED.items(), ids=RECORDED.keys())
async def test_recorded_payloads(
    client: TestClient,
    front: SlackFrontEnd,
    mock_slack: MockSlack,
    caplog: pytest.LogCaptureFixture,
    name: str,
    expected: str | None,
) -> None:
    await check(client, front, mock_slack, caplog, load(name), expected)
