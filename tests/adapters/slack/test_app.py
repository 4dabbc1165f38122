"""The Slack front end in the running aiohttp app: signed requests in, exact Web API calls out.

Slack's Web API and response URLs are MockSlack on loopback; signatures are real (HMAC with the test
signing secret) and checked by bolt, never bypassed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.app import SLACK, SlackFrontEnd
from adapters.slack.forms import FormField
from bot.app import create_app
from bot.clock import ManualClock
from bot.messages import ConversationKey, Inbound, Reply
from bot.settings import Settings
from tests.adapters.slack.blockkit import check_blocks
from tests.adapters.slack.conftest import post
from tests.adapters.slack.mock_slack import (
    BOT_TOKEN,
    MockSlack,
    body_for,
    load,
    signature,
    signed_headers,
)

DM = "D024BE91L"
USER = "U2147483697"


def texts_of(blocks: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if block["type"] == "section":
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts.extend(e["text"] for e in block["elements"])
    return "\n".join(parts)


def values_of(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    return [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


# -- switched on and off ---------------------------------------------------------------------------
async def test_without_slack_settings_the_server_starts_without_slack_and_says_so_once(
    tmp_path: Path, small_knowledge_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'off.db'}",
        knowledge_dir=small_knowledge_dir,
        slack_bot_token=BOT_TOKEN,  # a token alone is not enough
    )
    with caplog.at_level(logging.INFO):
        app = create_app(settings)
        async with TestClient(TestServer(app)) as client:
            response = await client.post("/slack/events", data=b"{}")
            assert response.status in (404, 405)
            assert (await client.get("/healthz")).status == 200
    assert SLACK not in app
    disabled = [r for r in caplog.records if r.getMessage() == "slack_disabled"]
    assert len(disabled) == 1
    assert disabled[0].missing == ["SLACK_SIGNING_SECRET or SLACK_APP_TOKEN"]  # type: ignore[attr-defined]


async def test_url_verification_challenge(client: TestClient) -> None:
    response = await post(client, load("url_verification.json"))
    assert response.status == 200
    assert (await response.json()) == {"challenge": load("url_verification.json")["challenge"]}


# -- request verification --------------------------------------------------------------------------
async def test_unsigned_wrongly_signed_and_stale_requests_get_401(
    client: TestClient, mock_slack: MockSlack, clock: ManualClock
) -> None:
    body, content_type = body_for(load("message_im.json"))
    now = int(clock.now().timestamp())  # the app's frozen clock: the window edges are exact
    attempts = {
        "unsigned": {"Content-Type": content_type},
        "no timestamp": {"Content-Type": content_type, "X-Slack-Signature": signature(body, str(now))},
        "wrong secret": signed_headers(body, content_type=content_type, secret="not-the-secret"),
        "other body": {**signed_headers(body + " ", content_type=content_type)},
        "stale": signed_headers(body, content_type=content_type, timestamp=now - 301),
        "from the future": signed_headers(body, content_type=content_type, timestamp=now + 301),
        "garbage": {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    }
    for name, headers in attempts.items():
        response = await client.post("/slack/events", data=body.encode(), headers=headers)
        assert response.status == 401, name
    assert mock_slack.calls == []  # nothing reached bolt's authorisation, let alone the engine
    ok = await client.post(
        "/slack/events",
        data=body.encode(),
        headers=signed_headers(body, content_type=content_type, timestamp=now - 290),
    )
    assert ok.status == 200  # inside the five minutes


async def test_interactivity_and_commands_are_verified_too(
    client: TestClient, mock_slack: MockSlack, clock: ManualClock
) -> None:
    for payload in (load("block_actions.json"), load("slash_command.txt")):
        body, content_type = body_for(payload)
        response = await client.post(
            "/slack/events", data=body.encode(), headers={"Content-Type": content_type}
        )
        assert response.status == 401
        stale = signed_headers(body, content_type=content_type, timestamp=int(clock.now().timestamp()) - 600)
        response = await client.post("/slack/events", data=body.encode(), headers=stale)
        assert response.status == 401
    assert mock_slack.calls == []


async def test_the_replay_window_is_judged_by_the_services_clock(
    client: TestClient, mock_slack: MockSlack, clock: ManualClock
) -> None:
    body, content_type = body_for(load("message_im.json"))
    signed_now = signed_headers(body, content_type=content_type, timestamp=int(clock.now().timestamp()))
    clock.advance(minutes=10)  # the service's clock moves on; the signature's timestamp does not
    response = await client.post("/slack/events", data=body.encode(), headers=signed_now)
    assert response.status == 401
    assert mock_slack.calls == []


# -- direct messages and mentions -------------------------------------------------------------------
async def test_direct_message_is_answered_with_blocks(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    response = await post(client, load("message_im.json"))
    assert response.status == 200
    await front.drain()
    assert mock_slack.methods() == ["chat.postMessage"]
    call = mock_slack.called("chat.postMessage")[0]
    assert call.authorization == f"Bearer {BOT_TOKEN}"
    assert call.args["channel"] == DM
    assert "thread_ts" not in call.args
    assert call.args["unfurl_links"] is False
    blocks = call.args["blocks"]
    check_blocks(blocks)
    assert [b["block_id"] for b in blocks] == [
        "mastery-text-0-0",
        "mastery-links-0-0",
        "mastery-prompt-0",
        "mastery-feedback-0-0",
    ]
    assert "free" in blocks[0]["text"]["text"]
    assert blocks[1]["elements"][0]["text"].startswith("<https://")
    assert values_of(blocks) == ["feedback:up:dwg-cost", "feedback:down:dwg-cost"]
    assert call.args["text"] == blocks[0]["text"]["text"]  # notification fallback


async def test_ack_comes_before_the_slow_work(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("message_bot_message.json"))  # bolt's one auth.test happens here
    mock_slack.hold = asyncio.Event()  # Slack's Web API now answers nothing until released
    async with asyncio.timeout(30):  # a failure, not a hang, if the ack waited for the Web API
        response = await post(client, load("message_im.json"))
    assert response.status == 200  # acknowledged while the reply cannot have been posted
    mock_slack.hold.set()
    await front.drain()
    assert len(mock_slack.called("chat.postMessage")) == 1


async def test_mention_is_answered_in_its_thread(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("app_mention.json"))
    await front.drain()
    [call] = mock_slack.called("chat.postMessage")
    assert call.args["channel"] == "C123ABC456"
    assert call.args["thread_ts"] == "1515449522.000016"
    check_blocks(call.args["blocks"])
    assert "U0LAN0Z89" not in texts_of(call.args["blocks"])


async def test_a_thread_is_one_conversation(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    first = load("app_mention.json")
    first["event"]["text"] = "<@U0LAN0Z89> is the development work group free?"
    await post(client, first)
    await front.drain()
    follow_up = load("app_mention_in_thread.json")
    follow_up["event"]["text"] = "<@U0LAN0Z89> how long does it take?"
    await post(client, follow_up)
    await front.drain()
    calls = mock_slack.called("chat.postMessage")
    assert [c.args["thread_ts"] for c in calls] == ["1515449522.000016"] * 2
    assert values_of(calls[1].args["blocks"]) == ["feedback:up:dwg-time", "feedback:down:dwg-time"]


@pytest.mark.parametrize(
    "name",
    [
        "message_bot_message.json",
        "message_im_from_our_bot.json",
        "message_changed.json",
        "message_deleted.json",
    ],
)
async def test_bot_messages_edits_and_deletions_get_no_reply(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack, name: str
) -> None:
    response = await post(client, load(name))
    assert response.status == 200
    await front.drain()
    assert mock_slack.methods() == []


async def test_retried_and_duplicated_events_are_handled_once(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack, tmp_path: Path, slack_settings: Settings
) -> None:
    payload = load("message_im.json")
    first = await post(client, payload)
    retries = [
        await post(
            client, payload, headers={"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"}
        )
        for n in (1, 2, 3)
    ]
    assert first.status == 200 and all(r.status == 200 for r in retries)
    # A second process behind the same URL (same database) receives it too.
    async with TestClient(TestServer(create_app(slack_settings))) as other:
        assert (await post(other, payload)).status == 200
        await other.app[SLACK].drain()
    await front.drain()
    assert len(mock_slack.called("chat.postMessage")) == 1


async def test_concurrent_deliveries_of_one_event_reply_once(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    payload = load("message_im.json")
    await post(client, load("url_verification.json"))
    responses = await asyncio.gather(*(post(client, payload) for _ in range(5)))
    assert all(r.status == 200 for r in responses)
    await front.drain()
    assert len(mock_slack.called("chat.postMessage")) == 1


async def test_different_events_are_all_answered(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    for n in range(3):
        payload = load("message_im.json")
        payload["event_id"] = f"Ev{n}"
        payload["event"]["ts"] = f"1355517523.00000{n}"
        await post(client, payload)
    await front.drain()
    assert len(mock_slack.called("chat.postMessage")) == 3


# -- buttons ---------------------------------------------------------------------------------------
async def test_button_click_updates_the_message_then_answers(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    response = await post(client, load("block_actions.json"))
    assert response.status == 200
    await front.drain()
    assert mock_slack.methods() == ["chat.update", "chat.postMessage"]
    update = mock_slack.called("chat.update")[0].args
    assert update["channel"] == DM and update["ts"] == "1548261231.000200"
    assert [b["type"] for b in update["blocks"]] == ["section", "context"]  # the buttons are gone
    assert update["blocks"][-1]["elements"][0]["text"] == (
        "✓ You chose: *Does the Development Work Group cost anything?*"
    )
    check_blocks(update["blocks"])
    answer = mock_slack.called("chat.postMessage")[0].args
    assert answer["channel"] == DM
    assert values_of(answer["blocks"]) == ["feedback:up:dwg-cost", "feedback:down:dwg-cost"]

    # The same button again (a double click, or Slack showing an old copy): no second answer. The
    # buttons are taken off again before the claim is checked, which changes nothing.
    await post(client, load("block_actions.json"))
    await front.drain()
    assert mock_slack.methods() == ["chat.update", "chat.postMessage", "chat.update"]
    assert mock_slack.called("chat.update")[1].args == update


async def test_feedback_click_is_recorded_and_thanked(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("message_im.json"))
    await front.drain()
    answer = mock_slack.called("chat.postMessage")[0].args
    click = load("block_actions.json")
    up = next(e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"])
    block_id = next(b["block_id"] for b in answer["blocks"] if b["type"] == "actions")
    click["message"].update(ts="1548261299.000300", text=answer["text"], blocks=answer["blocks"])
    click["container"]["message_ts"] = "1548261299.000300"
    click["actions"] = [{**up, "block_id": block_id, "action_ts": "1548426417.840180"}]
    await post(client, click)
    await front.drain()
    assert mock_slack.methods() == ["chat.postMessage", "chat.update", "chat.postMessage"]
    update = mock_slack.called("chat.update")[0].args
    assert values_of(update["blocks"]) == []
    assert "Was this helpful?" not in texts_of(update["blocks"])
    assert "free" in texts_of(update["blocks"])  # the answer itself stays
    thanks = mock_slack.called("chat.postMessage")[1].args
    assert "Thanks" in texts_of(thanks["blocks"])
    assert [(f.faq_id, f.helpful) for f in await front.store.feedback()] == [("dwg-cost", 1)]


async def test_click_on_an_ephemeral_message_replaces_it_through_the_response_url(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    payload = load("block_actions_ephemeral.json")
    payload["response_url"] = mock_slack.hook_url("actions/T061EG9R6/1/eph")
    await post(client, payload)
    await front.drain()
    assert mock_slack.methods() == []  # ephemeral messages cannot be chat.update-d
    [hook] = mock_slack.hooks
    assert hook.path == "actions/T061EG9R6/1/eph"
    assert hook.body["replace_original"] is True and hook.body["response_type"] == "ephemeral"
    assert hook.body["blocks"][0]["elements"][0]["text"] == "✓ You chose: *👍 Helpful*"
    check_blocks(hook.body["blocks"])


async def test_button_of_another_app_gets_a_reply_but_no_update(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    payload = load("block_actions.json")
    payload["actions"][0].update(block_id="=qXel", action_id="WaXA", value="click_me_123")
    await post(client, payload)
    await front.drain()
    assert mock_slack.methods() == ["chat.postMessage"]
    assert "no longer active" in texts_of(mock_slack.called("chat.postMessage")[0].args["blocks"])


# -- slash command ---------------------------------------------------------------------------------
async def test_slash_command_answers_ephemerally(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    response = await post(client, load("slash_command.txt"))
    assert response.status == 200
    assert await response.text() == ""  # acknowledged empty; the answer follows
    await front.drain()
    assert mock_slack.methods() == ["chat.postEphemeral"]
    call = mock_slack.called("chat.postEphemeral")[0].args
    assert (call["channel"], call["user"]) == ("C2147483705", USER)
    check_blocks(call["blocks"])
    assert values_of(call["blocks"]) == ["feedback:up:dwg-cost", "feedback:down:dwg-cost"]


async def test_slash_command_alone_shows_the_menu(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("slash_command.txt").replace("text=is+the+DWG+free%3F", "text="))
    await front.drain()
    call = mock_slack.called("chat.postEphemeral")[0].args
    assert {"menu:fit", "menu:contact", "menu:help"} <= set(values_of(call["blocks"]))


async def test_slash_command_starts_a_flow_or_intent(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("slash_command.txt").replace("text=is+the+DWG+free%3F", "text=contact+my+hub"))
    await front.drain()
    call = mock_slack.called("chat.postEphemeral")[0].args
    assert "Maths Hub" in texts_of(call["blocks"])


async def test_slash_command_where_the_bot_cannot_post_uses_the_response_url(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    mock_slack.errors["chat.postEphemeral"] = "channel_not_found"
    hook = mock_slack.hook_url("commands/T061EG9R6/5678/xyz")
    command = load("slash_command.txt").replace(
        "https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678", hook.replace(":", "%3A").replace("/", "%2F")
    )
    await post(client, command)
    await front.drain()
    assert mock_slack.methods() == ["chat.postEphemeral"]
    [sent] = mock_slack.hooks
    assert sent.body["response_type"] == "ephemeral" and sent.body["replace_original"] is False
    check_blocks(sent.body["blocks"])


# -- App Home --------------------------------------------------------------------------------------
async def test_home_tab_is_published_with_the_menu(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("app_home_opened.json"))
    await front.drain()
    assert mock_slack.methods() == ["views.publish"]
    call = mock_slack.called("views.publish")[0].args
    assert call["user_id"] == USER
    view = call["view"]
    assert view["type"] == "home" and json.loads(view["private_metadata"]) == {"channel": DM}
    assert values_of(view["blocks"]) == ["menu:ask", "menu:fit", "menu:contact"]
    check_blocks(view["blocks"], max_blocks=100)


async def test_home_tab_button_answers_in_the_dm(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("block_actions_home.json"))
    await front.drain()
    assert mock_slack.methods() == ["chat.postMessage"]
    call = mock_slack.called("chat.postMessage")[0].args
    assert call["channel"] == DM
    assert "type your question" in texts_of(call["blocks"])


# -- forms (modal plumbing) ------------------------------------------------------------------------
class ExampleForm:
    """A stand-in form that exercises the plumbing; it is not the enquiry form (not built yet)."""

    name = "test-form"
    title = "Test form"
    fields = (
        FormField("topic", "Topic", max_length=100),
        FormField("detail", "Detail", multiline=True, optional=True),
    )

    def __init__(self) -> None:
        self.submitted: list[tuple[ConversationKey, dict[str, str]]] = []

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        return {} if values.get("topic") else {"topic": "Please say what it is about."}

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        self.submitted.append((key, dict(values)))
        return [Reply("Thanks, that's on its way.")]


async def test_open_form_button_opens_the_modal(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    front.forms["test-form"] = ExampleForm()
    await post(client, load("block_actions_open_form.json"))
    await front.drain()
    assert mock_slack.methods() == ["views.open"]  # the message keeps its button: the modal may be cancelled
    call = mock_slack.called("views.open")[0].args
    assert call["trigger_id"] == "12466734323.1395872398.d2f1b6d3e43dfc8d0f6bd1d4cc4a0d2b"
    view = call["view"]
    assert view["callback_id"] == "mastery-form-test-form"
    assert [b["block_id"] for b in view["blocks"]] == ["topic", "detail"]
    assert json.loads(view["private_metadata"]) == {
        "form": "test-form",
        "team": "T061EG9R6",
        "conversation": "C123ABC456:1515449522.000016",
        "channel": "C123ABC456",
        "thread_ts": "1515449522.000016",
    }


async def test_form_errors_are_shown_inline(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    form = ExampleForm()
    front.forms["test-form"] = form
    payload = load("view_submission.json")
    payload["view"]["state"]["values"]["topic"]["value"]["value"] = "   "
    response = await post(client, payload)
    assert response.status == 200
    assert await response.json() == {
        "response_action": "errors",
        "errors": {"topic": "Please say what it is about."},
    }
    await front.drain()
    assert form.submitted == [] and mock_slack.methods() == []


async def test_valid_form_closes_and_replies_where_it_was_opened(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    form = ExampleForm()
    front.forms["test-form"] = form
    response = await post(client, load("view_submission.json"))
    assert response.status == 200 and await response.text() == ""
    await front.drain()
    assert form.submitted == [
        (
            ConversationKey("slack", "T061EG9R6", "U061F7AUR", "C123ABC456:1515449522.000016"),
            {"topic": "Release time", "detail": ""},
        )
    ]
    [call] = mock_slack.called("chat.postMessage")
    assert (call.args["channel"], call.args["thread_ts"]) == ("C123ABC456", "1515449522.000016")
    assert texts_of(call.args["blocks"]) == "Thanks, that's on its way."


async def test_open_form_without_that_form_says_so(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    await post(client, load("block_actions_open_form.json"))
    await front.drain()
    assert mock_slack.methods() == ["chat.postMessage"]
    assert "form isn't available" in texts_of(mock_slack.called("chat.postMessage")[0].args["blocks"])


# -- anything else ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload",
    [
        {
            "type": "event_callback",
            "team_id": "T061EG9R6",
            "event_id": "Ev0REACT",
            "event": {
                "type": "reaction_added",
                "user": USER,
                "reaction": "thumbsup",
                "item": {"type": "message"},
            },
        },
        {
            "type": "shortcut",
            "callback_id": "anything",
            "trigger_id": "1.2.3",
            "user": {"id": USER},
            "team": {"id": "T1"},
        },
        {
            "type": "view_closed",
            "view": {"id": "V1", "type": "modal", "callback_id": "mastery-form-test-form"},
            "user": {"id": USER},
        },
        {
            "type": "view_submission",
            "view": {"id": "V1", "type": "modal", "callback_id": "view-id", "state": {"values": {}}},
            "user": {"id": USER},
        },
    ],
    ids=["reaction_added", "shortcut", "view_closed", "other_view_submission"],
)
async def test_other_requests_are_acknowledged_quietly(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack, payload: dict[str, Any]
) -> None:
    response = await post(client, payload)
    assert response.status == 200
    await front.drain()
    assert mock_slack.methods() == []


async def test_info_logs_carry_no_message_text_or_names(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack, caplog: pytest.LogCaptureFixture
) -> None:
    secret_question = "is the DWG free for Zebedee Quibblesworth"
    payload = load("message_im.json")
    payload["event"]["text"] = secret_question
    with caplog.at_level(logging.INFO):
        await post(client, payload)
        await post(client, load("block_actions.json"))
        await post(client, load("slash_command.txt"))
        await front.drain()
    assert mock_slack.called("chat.postMessage")
    for record in caplog.records:
        rendered = record.getMessage() + json.dumps({k: str(v) for k, v in record.__dict__.items()})
        assert "Zebedee" not in rendered and "Quibblesworth" not in rendered
        assert "steve" not in rendered.lower()  # the user name in the command and the click
    assert any(r.getMessage() == "slack_event" for r in caplog.records)


async def test_a_failing_turn_is_logged_retried_and_does_not_hold_up_the_next(
    client: TestClient,
    front: SlackFrontEnd,
    mock_slack: MockSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handle = front.engine.handle
    calls = 0

    async def flaky(inbound: Inbound) -> list[Reply]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return await handle(inbound)

    monkeypatch.setattr(front.engine, "handle", flaky)
    first = load("message_im.json")
    second = load("message_im.json")
    second["event_id"] = "Ev0PV52K99"
    with caplog.at_level(logging.ERROR):
        assert (await post(client, first)).status == 200
        assert (await post(client, second)).status == 200
        await front.drain()
    assert [r.getMessage() for r in caplog.records] == ["slack_turn_failed"]
    assert len(mock_slack.called("chat.postMessage")) == 2  # the failed one was stored, so retried


async def test_shutdown_finishes_turns_already_acknowledged(
    slack_settings: Settings, mock_slack: MockSlack
) -> None:
    mock_slack.delay = 0.2
    async with TestClient(TestServer(create_app(slack_settings))) as client:
        await post(client, load("message_bot_message.json"))  # auth.test out of the way
        assert (await post(client, load("message_im.json"))).status == 200
    # The server has stopped; the acknowledged question was still answered.
    assert len(mock_slack.called("chat.postMessage")) == 1


async def test_enabled_is_logged_with_its_mode(
    slack_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        app = create_app(slack_settings)
    [enabled] = [r for r in caplog.records if r.getMessage() == "slack_enabled"]
    assert enabled.http_path == "/slack/events" and enabled.socket_mode is False  # type: ignore[attr-defined]
    assert SLACK in app
