"""A running app with Slack on, its Web API replaced by MockSlack on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.app import SLACK, SlackFrontEnd
from bot.app import build_services, create_app
from bot.clock import ManualClock
from bot.settings import Settings
from tests.adapters.slack.mock_slack import BOT_TOKEN, SIGNING_SECRET, MockSlack, body_for, signed_headers


@pytest.fixture
async def mock_slack() -> AsyncIterator[MockSlack]:
    mock = MockSlack()
    await mock.start()
    yield mock
    await mock.stop()


@pytest.fixture
def slack_settings(tmp_path: Path, small_knowledge_dir: Path, mock_slack: MockSlack) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
        knowledge_dir=small_knowledge_dir,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=mock_slack.api_url,
    )


@pytest.fixture
def clock() -> ManualClock:
    """The app's clock, frozen at the moment the test starts.

    Requests are signed with the real time (as Slack signs them), and bolt judges the five-minute
    replay window by this clock: a test that takes longer on a loaded machine cannot eat the margin,
    and the window tests sign exactly 1 s inside or outside it.
    """
    return ManualClock(dt.datetime.now(dt.UTC))


@pytest.fixture
async def client(slack_settings: Settings, clock: ManualClock) -> AsyncIterator[TestClient]:
    app = create_app(slack_settings, services=build_services(slack_settings, clock=clock))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture
def front(client: TestClient) -> SlackFrontEnd:
    app: web.Application = client.app
    return app[SLACK]


async def post(
    client: TestClient,
    payload: dict[str, Any] | str,
    *,
    headers: dict[str, str] | None = None,
    timestamp: int | None = None,
) -> ClientResponse:
    """Post a payload to /slack/events as Slack does: raw body, signed with the test secret."""
    body, content_type = body_for(payload)
    signed = signed_headers(body, content_type=content_type, timestamp=timestamp)
    return await client.post("/slack/events", data=body.encode(), headers={**signed, **(headers or {})})
