"""Knowledge changes take effect in a running server: file watcher, POST /admin/reload, SIGHUP.

Each test serves a temporary copy of the knowledge (never the packaged files) through a real
aiohttp server, and edits that copy while the server runs.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import os
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from bot.cli import build_parser
from bot.reload import RELOADER
from bot.settings import Settings
from bot.suggestions_cli import run_async

TOKEN = "test-admin-token-0123456789abcdef"
OLD_ANSWER = "It is fully funded by the Maths Hubs Programme, so it is free to participating schools."
NEW_ANSWER = "The Work Group is free, as the Maths Hubs Programme funds it in full (updated)."


@pytest.fixture
def knowledge_dir(tmp_path: Path, small_knowledge_dir: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(small_knowledge_dir, target)
    return target


def make_settings(tmp_path: Path, knowledge_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'reload.db'}",
        "knowledge_dir": knowledge_dir,
        "knowledge_reload_seconds": 0.1,
        "admin_token": TOKEN,
        "run_worker_in_web": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def client(tmp_path: Path, knowledge_dir: Path) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(make_settings(tmp_path, knowledge_dir)))) as test_client:
        yield test_client


class Chat:
    def __init__(self, client: TestClient, conversation: str) -> None:
        self.client = client
        self.conversation = conversation

    async def send(self, **body: str) -> list[dict[str, Any]]:
        response = await self.client.post(
            "/api/chat", json={"conversation_id": self.conversation, "user_id": "u1", **body}
        )
        assert response.status == 200, await response.text()
        replies: list[dict[str, Any]] = (await response.json())["replies"]
        return replies


_conversations = itertools.count()


async def ask(client: TestClient, text: str) -> dict[str, Any]:
    """A question in a fresh conversation; returns the first reply."""
    return (await Chat(client, f"fresh-{next(_conversations)}").send(text=text))[0]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the reload"
        await asyncio.sleep(0.05)


async def admin_reload(client: TestClient, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = await client.post("/admin/reload", headers=headers)
    body: dict[str, Any] = await response.json() if response.content_type == "application/json" else {}
    return response.status, body


async def test_accepted_suggestions_are_answered_directly_without_a_restart(
    client: TestClient, tmp_path: Path, knowledge_dir: Path
) -> None:
    # A "did you mean" the user resolves, and a thumbs down on an answer that missed.
    chat = Chat(client, "c1")
    replies = await chat.send(text="is it free?")
    assert replies[0]["kind"] == "disambiguation"
    replies = await chat.send(action="faq:specialist-cost")
    assert replies[0]["faq_id"] == "specialist-cost"
    chat = Chat(client, "c2")
    replies = await chat.send(text="how many days is it")
    assert replies[0]["faq_id"] == "dwg-time"
    await chat.send(action="feedback:down:dwg-time")

    # The author reviews with the command line, against the same database and knowledge directory.
    settings = make_settings(tmp_path, knowledge_dir)
    parser = build_parser()
    out = io.StringIO()
    assert await run_async(parser.parse_args(["suggestions", "--json"]), settings, out) == 0
    rows = {(r["kind"], r["faq_id"]): r for r in json.loads(out.getvalue())}
    pick = rows[("pick", "specialist-cost")]
    down = rows[("thumbs_down", "dwg-time")]
    assert (pick["wording"], down["wording"]) == ("is it free?", "how many days is it")
    for argv in (
        ["suggestions", "accept", pick["id"]],
        ["suggestions", "accept", down["id"], "--faq", "specialist-time"],
    ):
        assert await run_async(parser.parse_args(argv), settings, io.StringIO()) == 0

    # The running server notices the file changed and answers both wordings outright.
    async def answered_directly() -> bool:
        picked = await ask(client, "is it free?")
        moved = await ask(client, "how many days is it")
        return (picked.get("faq_id"), moved.get("faq_id")) == ("specialist-cost", "specialist-time")

    await eventually(answered_directly)
    assert (await ask(client, "is the dwg free"))["faq_id"] == "dwg-cost"  # the rest as before


async def test_an_invalid_edit_keeps_the_old_answers_live_and_is_reported(
    client: TestClient, knowledge_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.reload")
    assert (await ask(client, "is the dwg free"))["text"].startswith(OLD_ANSWER)
    faq = knowledge_dir / "faq.yaml"
    valid = faq.read_text(encoding="utf-8")
    broken = valid.replace(OLD_ANSWER, NEW_ANSWER, 1).replace("topic: cost", "topic: money", 1)
    faq.write_text(broken, encoding="utf-8")

    def refusals() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "knowledge_reload_refused"]

    async def refused() -> bool:
        return bool(refusals())

    await eventually(refused)
    problems = refusals()[0].problems  # type: ignore[attr-defined]
    assert any(p.startswith("faq.yaml: entries[0] (dwg-cost).topic:") for p in problems), problems
    assert (await ask(client, "is the dwg free"))["text"].startswith(OLD_ANSWER)  # old knowledge live

    status, body = await admin_reload(client)
    assert status == 422 and body["ok"] is False
    assert any("faq.yaml: entries[0] (dwg-cost).topic" in p for p in body["problems"])
    assert (await ask(client, "is the dwg free"))["text"].startswith(OLD_ANSWER)

    # Fixed: the next reload (watcher or endpoint) brings in the edit.
    faq.write_text(valid.replace(OLD_ANSWER, NEW_ANSWER, 1), encoding="utf-8")
    status, body = await admin_reload(client)
    assert (status, body["ok"], body["problems"]) == (200, True, [])
    assert (await ask(client, "is the dwg free"))["text"].startswith(NEW_ANSWER)
    assert client.app is not None
    assert client.app[SERVICES].knowledge.faq_by_id["dwg-cost"].answer == NEW_ANSWER


async def test_admin_reload_needs_the_token(client: TestClient) -> None:
    assert (await admin_reload(client, token=None))[0] == 401
    assert (await admin_reload(client, token="not-the-token-at-all-000000"))[0] == 401
    response = await client.post("/admin/reload", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    status, body = await admin_reload(client)
    assert (status, body["ok"]) == (200, True)


async def test_admin_reload_is_off_without_a_token(tmp_path: Path, knowledge_dir: Path) -> None:
    settings = make_settings(tmp_path, knowledge_dir, admin_token=None)
    async with TestClient(TestServer(create_app(settings))) as test_client:
        assert (await admin_reload(test_client))[0] == 404


def test_a_short_admin_token_is_refused(tmp_path: Path, knowledge_dir: Path) -> None:
    with pytest.raises(ValueError, match="admin_token"):
        make_settings(tmp_path, knowledge_dir, admin_token="short")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
async def test_sighup_reloads(tmp_path: Path, knowledge_dir: Path) -> None:
    settings = make_settings(tmp_path, knowledge_dir, knowledge_reload_seconds=0)  # watcher off
    async with TestClient(TestServer(create_app(settings))) as test_client:
        assert test_client.app is not None
        if not test_client.app[RELOADER].listening_for_sighup:
            pytest.skip("signal handlers cannot be installed here")
        faq = knowledge_dir / "faq.yaml"
        faq.write_text(faq.read_text(encoding="utf-8").replace(OLD_ANSWER, NEW_ANSWER, 1), encoding="utf-8")
        await asyncio.sleep(0.3)
        assert (await ask(test_client, "is the dwg free"))["text"].startswith(OLD_ANSWER)  # not watching
        os.kill(os.getpid(), signal.SIGHUP)

        async def reloaded() -> bool:
            return str((await ask(test_client, "is the dwg free"))["text"]).startswith(NEW_ANSWER)

        await eventually(reloaded)
