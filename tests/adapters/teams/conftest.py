"""Fixtures for the Teams tests: the mock Bot Connector and the whole app in local or authenticated mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.settings import Settings
from tests.adapters.teams.rig import MockConnector


@pytest.fixture
async def connector() -> AsyncIterator[MockConnector]:
    mock = MockConnector()
    await mock.server.start_server()
    yield mock
    await mock.server.close()


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_client(tmp_path: Path, small_knowledge_dir: Path) -> AsyncIterator[AppFactory]:
    """Start the whole aiohttp app (every front end) with the given Settings overrides."""
    clients: list[TestClient] = []

    async def make(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / f'teams{len(clients)}.db'}",
            "knowledge_dir": small_knowledge_dir,
            "microsoft_app_id": None,
            "microsoft_app_password": None,
            **overrides,
        }
        client = TestClient(TestServer(create_app(Settings(**values))))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient:
    """Local mode (no MICROSOFT_APP_ID), as with the Bot Framework Emulator."""
    return await make_client()
