"""Socket Mode: with SLACK_APP_TOKEN the app connects out to Slack (here MockSlack's websocket) and
handles envelopes there, acknowledging each by its envelope id; no public URL is needed."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.app import SLACK
from bot.app import create_app
from bot.settings import Settings
from tests.adapters.slack.mock_slack import APP_TOKEN, BOT_TOKEN, MockSlack, load


async def test_events_arrive_over_socket_mode(
    tmp_path: Path, small_knowledge_dir: Path, mock_slack: MockSlack
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'socket.db'}",
        knowledge_dir=small_knowledge_dir,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=mock_slack.api_url,
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        front = client.app[SLACK]
        assert (await client.post("/slack/events", data=b"{}")).status in (
            404,
            405,
        )  # no signing secret: no URL
        await mock_slack.socket_connected()
        opened = mock_slack.called("apps.connections.open")[0]
        assert opened.authorization == f"Bearer {APP_TOKEN}"

        event = load("message_im.json")
        envelope = {
            "envelope_id": "env-1",
            "type": "events_api",
            "accepts_response_payload": False,
            "payload": event,
        }
        await mock_slack.send_envelope(envelope)
        assert await mock_slack.wait_for_ack("env-1") == {"envelope_id": "env-1"}
        [call] = await mock_slack.wait_for("chat.postMessage")
        assert call.args["channel"] == "D024BE91L"
        assert call.authorization == f"Bearer {BOT_TOKEN}"

        # Slack redelivers the same event (retry_attempt 1): acknowledged, not answered again.
        retry = {**envelope, "envelope_id": "env-2", "retry_attempt": 1, "retry_reason": "timeout"}
        await mock_slack.send_envelope(retry)
        await mock_slack.wait_for_ack("env-2")
        await front.drain()
        assert len(mock_slack.called("chat.postMessage")) == 1

        command = {
            "envelope_id": "env-3",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "token": "x",
                "team_id": "T061EG9R6",
                "channel_id": "C2147483705",
                "user_id": "U2147483697",
                "command": "/mastery",
                "text": "",
                "response_url": mock_slack.hook_url(),
                "trigger_id": "1.2.3",
            },
        }
        await mock_slack.send_envelope(command)
        await mock_slack.wait_for_ack("env-3")
        await mock_slack.wait_for("chat.postEphemeral")
