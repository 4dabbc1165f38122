"""Acknowledged Slack events survive a crash: `python -m bot serve` in a child process is killed with
SIGKILL after acknowledging 20 direct messages it has not answered yet; the restarted server answers
every one of them, once."""

from __future__ import annotations

import asyncio
import copy
import json
import os
from pathlib import Path
from typing import Any

import aiohttp

from tests.adapters.slack.mock_slack import BOT_TOKEN, SIGNING_SECRET, MockSlack, load, signed_headers
from tests.child_server import Server
from tests.local_smtp import free_port

QUESTIONS = 20


def direct_message(n: int) -> dict[str, Any]:
    """A DM in its own channel, so each answer can be told apart."""
    payload: dict[str, Any] = copy.deepcopy(load("message_im.json"))
    payload["event_id"] = f"EvCrash{n:04d}"
    payload["event"]["channel"] = f"DCRASH{n:04d}"
    payload["event"]["client_msg_id"] = f"crash-{n}"
    payload["event"]["ts"] = payload["event"]["event_ts"] = f"1355517523.{n:06d}"
    return payload


async def test_acknowledged_messages_are_answered_after_a_kill(
    tmp_path: Path, small_knowledge_dir: Path
) -> None:
    mock = MockSlack(hold=asyncio.Event(), hold_only=("chat.postMessage",))  # answers cannot be posted
    await mock.start()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
        "KNOWLEDGE_DIR": str(small_knowledge_dir),
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": mock.api_url,
        "SLACK_EVENT_LEASE_SECONDS": "2",
        "ENQUIRY_MAILBOX_DIR": str(tmp_path / "inbox"),
        "LOG_LEVEL": "WARNING",
    }
    server = Server(env, tmp_path)
    try:
        await server.start()
        async with aiohttp.ClientSession() as session:
            for n in range(QUESTIONS):
                body = json.dumps(direct_message(n))
                headers = signed_headers(body, content_type="application/json")
                async with session.post(server.url + "/slack/events", data=body, headers=headers) as resp:
                    assert resp.status == 200  # acknowledged: Slack will never send these again
        await mock.wait_for("chat.postMessage")  # the server is busy answering...
        await server.kill()  # ... and dies without a clean shutdown, nothing posted
        before = len(mock.called("chat.postMessage"))

        mock.hold.set()  # type: ignore[union-attr]  # Slack answers again
        await server.start()
        channels = {f"DCRASH{n:04d}" for n in range(QUESTIONS)}

        def answered() -> set[str]:
            return {c.args["channel"] for c in mock.called("chat.postMessage")[before:]}

        for _ in range(600):
            if answered() >= channels:
                break
            await asyncio.sleep(0.05)
        assert answered() == channels  # every acknowledged question answered after the restart
        posts = [(c.args["channel"], c.args["text"]) for c in mock.called("chat.postMessage")[before:]]
        assert len(posts) == len(set(posts))  # and none twice
    finally:
        await server.stop()
        await mock.stop()
