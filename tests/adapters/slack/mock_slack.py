"""Slack on loopback for tests and benchmarks: the Web API, response URLs and Socket Mode, recording
every call, plus signing of requests exactly as Slack signs them (v0 HMAC-SHA256 of `v0:ts:body`).

Like bolt-python's tests/mock_web_api_server, but an aiohttp server in the test's own event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

FIXTURES = Path(__file__).parents[2] / "fixtures" / "slack"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-17653672481-19874698323-testtoken"
APP_TOKEN = "xapp-1-A0PNCHHK2-1111-testapptoken"
BOT_USER_ID = "U0LAN0Z89"  # the bot user in Slack's documented app_mention example
BOT_ID = "B0LAN0Z89"
TEAM_ID = "T061EG9R6"
WAIT_SECONDS = 5.0  # how long a test waits for an expected call


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    authorization: str | None
    at: float = field(default_factory=time.perf_counter)  # when it arrived (benchmarks time replies)


@dataclass
class HookCall:
    path: str
    body: dict[str, Any]


@dataclass
class MockSlack:
    calls: list[ApiCall] = field(default_factory=list)
    hooks: list[HookCall] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # method -> Slack error code to answer with
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0  # seconds every Web API call takes
    hold: asyncio.Event | None = None  # when set to an Event, Web API calls wait until it is set
    hold_only: tuple[str, ...] = ()  # ... only these methods (empty: all)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/hooks/{path:.*}", self._hook)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    def hook_url(self, name: str = "commands/T061EG9R6/1/abc") -> str:
        return f"http://127.0.0.1:{self._port}/hooks/{name}"

    # -- what was called -----------------------------------------------------------------------
    def called(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def methods(self, *, skip: tuple[str, ...] = ("auth.test",)) -> list[str]:
        return [c.method for c in self.calls if c.method not in skip]

    async def wait_for(self, method: str, count: int = 1) -> list[ApiCall]:
        await self._until(lambda: len(self.called(method)) >= count)
        return self.called(method)

    async def _until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                self._changed.clear()  # before looking, so a change in between is not lost
                if done():
                    return
                await self._changed.wait()

    # -- handlers ------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json":
            args = json.loads(raw) if raw else {}
        else:
            args = dict(urllib.parse.parse_qsl(raw))
            for key in ("blocks", "view", "attachments"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        self.calls.append(ApiCall(method, args, request.headers.get("Authorization")))
        self._changed.set()
        if self.hold is not None and (not self.hold_only or method in self.hold_only):
            await self.hold.wait()  # a Web API that answers only when the test says so
        if self.delay:
            await asyncio.sleep(self.delay)
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example Maths Hub",
                "user": "mastery",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"ts": ts, **args}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": args.get("ts"),
                "text": args.get("text"),
            }
        if method in ("views.open", "views.publish"):
            return {"ok": True, "view": {"id": "V0MOCK", **args.get("view", {})}}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"}
        return {"ok": True}

    async def _hook(self, request: web.Request) -> web.Response:
        self.hooks.append(HookCall(request.match_info["path"], await request.json()))
        self._changed.set()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self._changed.set()
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PNCHHK2"}}
        )
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
                self._changed.set()
        return ws

    async def socket_connected(self) -> None:
        await self._until(lambda: bool(self._sockets))

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        await self._sockets[-1].send_json(envelope)

    async def wait_for_ack(self, envelope_id: str) -> dict[str, Any]:
        await self._until(lambda: any(a.get("envelope_id") == envelope_id for a in self.socket_acks))
        return next(a for a in self.socket_acks if a.get("envelope_id") == envelope_id)


# -- requests as Slack sends them ------------------------------------------------------------------
def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str, *, content_type: str, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(body, ts, secret),
    }


def event_body(payload: dict[str, Any]) -> tuple[str, str]:
    return json.dumps(payload), "application/json"


def interaction_body(payload: dict[str, Any]) -> tuple[str, str]:
    return "payload=" + urllib.parse.quote(json.dumps(payload)), "application/x-www-form-urlencoded"


def command_body(fields: dict[str, str] | str) -> tuple[str, str]:
    body = fields if isinstance(fields, str) else urllib.parse.urlencode(fields)
    return body, "application/x-www-form-urlencoded"


def body_for(payload: dict[str, Any] | str) -> tuple[str, str]:
    """The raw body Slack would post for this payload: JSON events, form-encoded everything else."""
    if isinstance(payload, str):
        return command_body(payload)
    if payload.get("type") in ("event_callback", "url_verification", "app_rate_limited"):
        return event_body(payload)
    return interaction_body(payload)


def load(name: str) -> Any:
    path = FIXTURES / name
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else text
