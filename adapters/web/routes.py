"""Local web chat: GET / (the page), static assets, POST /api/chat (JSON)."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from aiohttp import web

from adapters.http import ClientError, error_response, parse_json, read_text
from adapters.web.translate import BadRequest, render, to_inbound
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
        inbound = to_inbound(body)
    except BadRequest as exc:
        return _error(400, str(exc))
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
    replies = await request.app[ENGINE].handle(inbound)
    return web.json_response(render(replies), headers={"Cache-Control": "no-store"})


_error = error_response


def _loopback(remote: str | None) -> bool:
    try:
        return remote is None or ipaddress.ip_address(remote).is_loopback
    except ValueError:  # a Unix socket's peer, or no address at all
        return True


def setup_web(app: web.Application, engine: Engine, *, per_user: int = 0, per_address: int = 0) -> None:
    """The page and POST /api/chat; `per_user` / `per_address`: messages a minute (0: no limit)."""
    app[ENGINE] = engine
    app[LIMITS] = (RateLimit(per_user, engine.store.clock), RateLimit(per_address, engine.store.clock))
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    app.router.add_static("/static/", STATIC, append_version=True)
