"""Hostile and broken requests: every one gets a short 4xx (or a polite reply), never a 500, a
traceback in the logs, or a stalled event loop. The server runs for real on loopback, with Slack (HTTP
mode, real signature checks) and Teams (local mode) switched on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_services, create_app
from bot.clock import SYSTEM_CLOCK
from bot.normalise import expands_beyond
from bot.settings import Settings
from tests.local_smtp import free_port

T = TypeVar("T")
FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "fuzz-signing-secret"
ENDPOINTS = ("/api/chat", "/slack/events", "/api/messages")


@dataclass
class Sent:
    status: int
    body: bytes


class LiveServer:
    """The app on a real port, its event loop in a thread, so synchronous hypothesis tests can use it."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> LiveServer:
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *_: object) -> None:
        self.run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> None:
        app = create_app(self._settings, services=build_services(self._settings, clock=SYSTEM_CLOCK))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def _stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Sent:
        async def send() -> Sent:
            assert self._session is not None
            # skip_auto_headers: the request goes out with exactly the headers the test chose
            async with self._session.post(
                self.url + path, data=body, headers=headers, skip_auto_headers=("Content-Type",)
            ) as response:
                return Sent(response.status, await response.read())

        return self.run(send())

    def get(self, path: str) -> int:
        async def send() -> int:
            assert self._session is not None
            async with self._session.get(self.url + path) as response:
                return response.status

        return self.run(send())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, small_knowledge_dir: Path) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("fuzz")
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{folder / 'fuzz.db'}",
        knowledge_dir=small_knowledge_dir,
        enquiry_mailbox_dir=folder / "inbox",
        slack_bot_token="xoxb-fuzz",
        slack_signing_secret=SECRET,
        slack_api_url=f"http://127.0.0.1:{free_port()}/api/",  # never reached: nothing here is valid
        run_worker_in_web=False,
        knowledge_reload_seconds=0,
    )
    with LiveServer(settings) as live:
        yield live


def signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    ts = timestamp or str(int(SYSTEM_CLOCK.now().timestamp()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


JSON = {"Content-Type": "application/json"}
CHAT = b'{"conversation_id": "c1", "user_id": "u1", "text": "is the work group free?"}'
DEEP = b'{"conversation_id": "c1", "user_id": "u1", "text": ' + b"[" * 5000 + b"]" * 5000 + b"}"
SLACK_EVENT = (FIXTURES / "slack" / "message_im.json").read_bytes()


# -- the faults found, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "body", "headers", "expected"),
    [
        ("bogus charset", "/api/chat", CHAT, {"Content-Type": "application/json; charset=bogus"}, 415),
        ("false gzip", "/api/chat", CHAT, {**JSON, "Content-Encoding": "gzip"}, 415),
        ("false br", "/api/chat", CHAT, {**JSON, "Content-Encoding": "br"}, 415),
        ("nested 5000 deep", "/api/chat", DEEP, JSON, 400),
        ("not UTF-8", "/api/chat", b'{"text": "\xff\xfe"}', JSON, 400),
        ("unsigned malformed JSON", "/slack/events", b"{not json", JSON, 400),
        (
            "unsigned malformed form",
            "/slack/events",
            b"payload=%7Bnot",
            {"Content-Type": "application/x-www-form-urlencoded"},
            400,
        ),
        ("nested 5000 deep", "/slack/events", DEEP, JSON, 400),
        ("non-numeric timestamp", "/slack/events", b"{}", {**JSON, "X-Slack-Request-Timestamp": "abc"}, 401),
        ("false gzip", "/slack/events", SLACK_EVENT, {**JSON, "Content-Encoding": "gzip"}, 415),
        ("nested 5000 deep", "/api/messages", DEEP, JSON, 400),
        ("false gzip", "/api/messages", b"{}", {**JSON, "Content-Encoding": "gzip"}, 415),
    ],
)
def test_each_known_fault_gets_a_short_4xx_and_no_traceback(
    server: LiveServer,
    caplog: pytest.LogCaptureFixture,
    name: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    expected: int,
) -> None:
    with caplog.at_level(logging.WARNING):
        sent = server.post(path, body, headers)
    assert sent.status == expected, (name, sent)
    assert set(json.loads(sent.body)) == {"error"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], name


def test_a_signed_body_with_any_byte_changed_is_refused_with_a_4xx(server: LiveServer) -> None:
    headers = {**JSON, **signed(SLACK_EVENT)}
    statuses = set()
    for position in range(0, len(SLACK_EVENT), max(1, len(SLACK_EVENT) // 40)):
        for replacement in (b"\xff", b"{", b'"'):
            body = SLACK_EVENT[:position] + replacement + SLACK_EVENT[position + 1 :]
            if body == SLACK_EVENT:
                continue  # the same byte: still validly signed
            statuses.add(server.post("/slack/events", body, headers).status)
    assert statuses <= {400, 401}, statuses


def test_a_message_that_explodes_when_normalised_is_refused_at_once(server: LiveServer) -> None:
    body = json.dumps({"conversation_id": "c2", "user_id": "u2", "text": "\ufdfa" * 3999}).encode()
    sent = server.post("/api/chat", body, JSON)
    assert sent.status == 200
    [reply] = json.loads(sent.body)["replies"]
    assert reply["kind"] == "error"  # the polite "too long" reply, without matching 72,000 letters


# -- and anything else ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"conversation_id": st.text(max_size=20), "user_id": st.text(max_size=20)},
        optional={"text": st.text(max_size=200) | json_values, "action": st.text(max_size=40) | json_values},
    ).map(lambda v: json.dumps(v).encode()),
    st.tuples(st.integers(0, len(SLACK_EVENT) - 1), st.binary(min_size=1, max_size=3))
    .map(lambda cut: SLACK_EVENT[: cut[0]] + cut[1] + SLACK_EVENT[cut[0] + 1 :])
    .filter(lambda body: body != SLACK_EVENT),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=bogus",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)
extra_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Encoding": st.sampled_from(["gzip", "br", "deflate", "identity", "x-nonsense"]),
        "X-Slack-Request-Timestamp": st.text(max_size=12).filter(lambda t: t.isprintable() and t.isascii()),
        "X-Slack-Signature": st.text(max_size=70).filter(lambda t: t.isprintable() and t.isascii()),
        "Authorization": st.sampled_from(["Bearer abc", "Bearer a.b.c", "Basic Zm9vOmJhcg==", ""]),
    },
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(ENDPOINTS), body=bodies, content_type=content_types, headers=extra_headers)
def test_no_request_gets_a_5xx(
    server: LiveServer, path: str, body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    sent = server.post(path, body, {"Content-Type": content_type, **headers} if content_type else headers)
    assert sent.status < 500, (path, body[:200], content_type, headers, sent)


def test_the_server_is_healthy_after_the_fuzzing(server: LiveServer) -> None:
    assert server.get("/healthz") == 200


@pytest.mark.parametrize(
    ("text", "limit", "beyond"),
    [
        ("a" * 4000, 4000, False),
        ("a" * 4001, 4000, True),
        ("\ufdfa" * 223, 4000, True),  # 223 x 18 letters
        ("\ufdfa" * 222, 4000, False),
        ("é" * 3999, 4000, False),  # composed already: no growth
        ("\ufb01" * 2001, 4000, True),  # the "fi" ligature doubles
    ],
)
def test_the_length_limit_is_judged_after_normalisation(text: str, limit: int, beyond: bool) -> None:
    assert expands_beyond(text, limit) is beyond
