"""Local web chat: GET / (the page), static assets, POST /api/chat and GET /api/history (JSON)."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from aiohttp import web

from adapters.http import ClientError, error_response, parse_json, read_text
from adapters.web.translate import (
    HISTORY_LIMIT,
    BadRequest,
    history_key,
    parse_chat,
    render,
    render_history,
    transcript_of,
)
from bot.clock import Clock
from bot.engine import Engine

STATIC = Path(__file__).parent / "static"
ENGINE: web.AppKey[Engine] = web.AppKey("web_engine", Engine)
LIMITS: web.AppKey[tuple[RateLimit, RateLimit]] = web.AppKey("web_limits")
log = logging.getLogger(__name__)

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers=_SECURITY_HEADERS)


class RateLimit:
    """At most `per_minute` messages per key (a user id, an address) in each clock minute.

    Fixed one-minute windows on the service's clock (so tests move time rather than wait); kept in
    memory per process, which is what a light limit on a public endpoint needs.
    """

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._counts: dict[tuple[str, int], int] = {}

    def retry_after(self, key: str) -> int | None:
        """None when `key` may send now (and counts it); else the seconds until it may."""
        if self.per_minute <= 0:
            return None
        now = self._clock.now().timestamp()
        window = int(now // 60)
        if len(self._counts) > 10_000:  # forget finished windows
            self._counts = {k: n for k, n in self._counts.items() if k[1] == window}
        count = self._counts.get((key, window), 0)
        if count >= self.per_minute:
            return max(1, int((window + 1) * 60 - now))
        self._counts[(key, window)] = count + 1
        return None


async def chat(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        return _error(415, "send the body as JSON with Content-Type: application/json")
    try:
        body = parse_json(await read_text(request))
    except ClientError as exc:
        return exc.response(request)
    try:
        call = parse_chat(body)
    except BadRequest as exc:
        return _error(400, str(exc))
    inbound = call.inbound
    per_user, per_address = request.app[LIMITS]
    checks = [(per_user, f"user:{inbound.key.user_id}")]
    if not _loopback(request.remote):  # a reverse proxy on this machine carries everyone's messages
        checks.append((per_address, f"ip:{request.remote}"))
    for limit, key in checks:
        wait = limit.retry_after(key)
        if wait is not None:
            log.warning("web_rate_limited", extra={"by": key.split(":", 1)[0], "retry_after": wait})
            response = _error(429, f"too many messages: please wait {wait} s")
            response.headers["Retry-After"] = str(wait)
            return response
    engine = request.app[ENGINE]
    body = render(await engine.handle(inbound))
    try:  # what the page now shows, for GET /api/history after a reload
        await engine.store.add_transcript(inbound.key, transcript_of(call, body))
    except Exception:  # the answer matters more than its copy: a reload would miss this turn
        log.warning("web_transcript_not_saved", exc_info=True)
    return web.json_response(body, headers=_NO_STORE)


async def history(request: web.Request) -> web.Response:
    """GET /api/history?conversation_id=…&user_id=…: the conversation as the page showed it.

    The page has no login: the pair of ids it generated and keeps in the browser is what lets it
    read its own conversation, and only that one (the key includes the user id)."""
    if request.method not in ("GET", "HEAD"):
        response = _error(405, "use GET /api/history?conversation_id=…&user_id=…")
        response.headers["Allow"] = "GET, HEAD"
        return response
    try:
        key = history_key(request.query)
    except BadRequest as exc:
        return _error(400, str(exc))
    engine = request.app[ENGINE]
    entries = await engine.store.transcript(key, limit=HISTORY_LIMIT)
    return web.json_response(render_history(entries, max_chars=engine.max_chars), headers=_NO_STORE)


_error = error_response
_NO_STORE = {"Cache-Control": "no-store"}


def _loopback(remote: str | None) -> bool:
    try:
        return remote is None or ipaddress.ip_address(remote).is_loopback
    except ValueError:  # a Unix socket's peer, or no address at all
        return True


def setup_web(app: web.Application, engine: Engine, *, per_user: int = 0, per_address: int = 0) -> None:
    """The page, POST /api/chat and GET /api/history.

    `per_user` / `per_address`: messages a minute (0: no limit)."""
    app[ENGINE] = engine
    app[LIMITS] = (RateLimit(per_user, engine.store.clock), RateLimit(per_address, engine.store.clock))
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    app.router.add_route("*", "/api/history", history)
    app.router.add_static("/static/", STATIC, append_version=True)
