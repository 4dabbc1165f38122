"""The local web chat: page, JSON API, health and metrics, through a real aiohttp server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.routes import RateLimit, _loopback
from bot.app import build_services, create_app
from bot.clock import ManualClock
from bot.messages import ConversationKey
from bot.settings import Settings
from bot.store.base import TranscriptEntry


@pytest.fixture
async def client(tmp_path: Path, small_knowledge_dir: Path) -> AsyncIterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}", knowledge_dir=small_knowledge_dir
    )
    async with TestClient(TestServer(create_app(settings))) as test_client:
        yield test_client


async def chat(client: TestClient, **body: object) -> dict:
    response = await client.post("/api/chat", json={"conversation_id": "c1", "user_id": "u1", **body})
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_page_is_served_with_a_strict_content_policy(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status == 200
    html = await response.text()
    assert "<textarea" in html and "/static/app.js" in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    script = await client.get("/static/app.js")
    assert script.status == 200
    assert "innerHTML" not in await script.text()  # user and bot text only ever inserted as text


async def test_question_gets_answer_with_choices_and_links(client: TestClient) -> None:
    data = await chat(client, text="Is the DWG free?")
    reply = data["replies"][0]
    assert reply["faq_id"] == "dwg-cost"
    assert "free" in reply["text"]
    assert reply["links"][0]["url"].startswith("https://")
    assert {"label", "value"} <= set(reply["choices"][0])


async def test_button_action_round_trip(client: TestClient) -> None:
    data = await chat(client, text="is it free?")
    values = [c["value"] for c in data["replies"][0]["choices"]]
    assert "faq:dwg-cost" in values
    data = await chat(client, action="faq:dwg-cost")
    assert data["replies"][0]["faq_id"] == "dwg-cost"


async def test_conversation_state_survives_a_server_restart(
    tmp_path: Path, small_knowledge_dir: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", knowledge_dir=small_knowledge_dir
    )
    async with TestClient(TestServer(create_app(settings))) as first:
        await chat(first, text="is the specialist programme free")
    async with TestClient(TestServer(create_app(settings))) as second:
        data = await chat(second, text="how long does it take?")
    assert data["replies"][0]["faq_id"] == "specialist-time"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"user_id": "u"}', 400, "conversation_id"),
        (b'{"conversation_id": "c", "user_id": "u"}', 400, "either 'text' or 'action'"),
        (b'{"conversation_id": "c", "user_id": "u", "text": 5}', 400, "text"),
        (b'{"conversation_id": "<script>", "user_id": "u", "text": "hi"}', 400, "conversation_id"),
    ],
)
async def test_bad_requests_get_clear_400s(
    client: TestClient, body: bytes, status: int, fragment: str
) -> None:
    response = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    assert response.status == status
    error = (await response.json())["error"]
    assert fragment in error
    assert "Traceback" not in error


async def test_wrong_content_type(client: TestClient) -> None:
    response = await client.post("/api/chat", data="text=hi")
    assert response.status == 415


async def test_html_in_text_is_returned_as_plain_text_only(client: TestClient) -> None:
    data = await chat(client, text="<img src=x onerror=alert(1)>")
    assert all("<img" not in r["text"] for r in data["replies"])


async def test_oversized_message_gets_friendly_reply(client: TestClient) -> None:
    data = await chat(client, text="a" * 5000)
    assert "long" in data["replies"][0]["text"]


async def test_healthz_and_metrics(client: TestClient) -> None:
    health = await client.get("/healthz")
    assert health.status == 200
    assert (await health.json())["database"] == "ok"
    await chat(client, text="is the dwg free")
    await chat(client, text="what is the capital of peru")
    metrics = await (await client.get("/metrics")).text()
    assert 'bot_messages_total{platform="web"} 2.0' in metrics
    assert 'bot_answers_total{outcome="answer"} 1.0' in metrics
    assert 'bot_answers_total{outcome="unknown"} 1.0' in metrics
    assert "bot_message_latency_seconds_bucket" in metrics


async def test_a_user_sending_too_fast_is_asked_to_wait_and_can_send_again_later(
    tmp_path: Path, small_knowledge_dir: Path, clock: ManualClock
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'limit.db'}",
        knowledge_dir=small_knowledge_dir,
        web_rate_limit_per_user=3,
    )
    app = create_app(settings, services=build_services(settings, clock=clock))
    async with TestClient(TestServer(app)) as client:

        async def send(user: str) -> int:
            body = {"conversation_id": f"c-{user}", "user_id": user, "text": "is the work group free?"}
            response = await client.post("/api/chat", json=body)
            if response.status == 429:
                assert int(response.headers["Retry-After"]) > 0
                assert "error" in await response.json()
            return response.status

        assert [await send("u1") for _ in range(4)] == [200, 200, 200, 429]
        assert await send("u2") == 200  # someone else is not held up
        clock.advance(60)
        assert await send("u1") == 200


def test_the_address_limit_spares_loopback_and_counts_per_address(clock: ManualClock) -> None:
    limit = RateLimit(2, clock)
    assert [limit.retry_after("ip:203.0.113.9") for _ in range(3)][:2] == [None, None]
    assert limit.retry_after("ip:203.0.113.9") is not None
    assert limit.retry_after("ip:198.51.100.1") is None
    assert _loopback("127.0.0.1") and _loopback("::1") and not _loopback("203.0.113.9")


async def history(client: TestClient, conversation: str = "c1", user: str = "u1") -> dict:
    response = await client.get("/api/history", params={"conversation_id": conversation, "user_id": user})
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    return await response.json()  # type: ignore[no-any-return]


async def test_history_returns_the_conversation_as_the_page_showed_it(client: TestClient) -> None:
    assert (await history(client))["messages"] == []
    await chat(client, text="hello", silent=True)  # the page's automatic greeting: no user message
    first = await chat(client, text="is it free?")
    value = first["replies"][0]["choices"][0]["value"]
    label = first["replies"][0]["choices"][0]["label"]
    picked = await chat(client, action=value, label=label)
    await chat(client, action=value)  # an API client naming no label: only the replies are kept

    data = await history(client)
    assert data["max_chars"] == 4000
    messages = data["messages"]
    assert [m["role"] for m in messages][:2] == ["bot", "user"]
    assert messages[1] == {"role": "user", "text": "is it free?"}
    assert messages[2] == {"role": "bot", **first["replies"][0]}
    pick = next(m for m in messages if m.get("action"))
    assert pick == {"role": "user", "text": label, "action": value}
    after_pick = messages[messages.index(pick) + 1]
    assert after_pick == {"role": "bot", **picked["replies"][0]}
    assert [m["role"] for m in messages].count("user") == 2


async def test_history_is_only_that_browsers_conversation(client: TestClient) -> None:
    await chat(client, text="is the dwg free")
    assert (await history(client, user="someone-else"))["messages"] == []
    assert (await history(client, conversation="c2"))["messages"] == []
    assert len((await history(client))["messages"]) >= 2


async def test_history_is_capped_to_the_latest_messages(tmp_path: Path, small_knowledge_dir: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cap.db'}", knowledge_dir=small_knowledge_dir
    )
    services = build_services(settings)
    async with TestClient(TestServer(create_app(settings, services=services))) as client:
        key = ConversationKey("web", "", "u1", "c1")
        entries = [TranscriptEntry("user", {"text": f"thanks {n}"}) for n in range(130)]
        await services.store.add_transcript(key, entries)
        messages = (await history(client))["messages"]
    assert len(messages) == 100
    assert messages[0]["text"] == "thanks 30" and messages[-1]["text"] == "thanks 129"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?conversation_id=c1",
        "?user_id=u1",
        "?conversation_id=%3Cscript%3E&user_id=u1",
        "?conversation_id=c1&user_id=" + "u" * 129,
        "?conversation_id=c1&user_id=%FF%FE",
    ],
)
async def test_history_bad_ids_get_a_400(client: TestClient, query: str) -> None:
    response = await client.get("/api/history" + query)
    assert response.status == 400
    assert "error" in await response.json()


async def test_history_refuses_other_methods_with_json(client: TestClient) -> None:
    response = await client.post("/api/history", json={"conversation_id": "c1", "user_id": "u1"})
    assert response.status == 405
    assert "error" in await response.json()
    assert "GET" in response.headers["Allow"]


async def test_erasing_a_web_user_removes_their_history(tmp_path: Path, small_knowledge_dir: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'erase.db'}", knowledge_dir=small_knowledge_dir
    )
    services = build_services(settings)
    async with TestClient(TestServer(create_app(settings, services=services))) as client:
        await chat(client, text="is the dwg free")
        assert (await history(client))["messages"]
        await services.store.erase_user("web:u1")
        assert (await history(client))["messages"] == []
