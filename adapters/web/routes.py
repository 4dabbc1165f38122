"""Local web chat: GET / (the page), static assets, POST /api/chat (JSON)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from adapters.http import ClientError, error_response, parse_json, read_text
from adapters.web.translate import BadRequest, render, to_inbound
from bot.engine import Engine

STATIC = Path(__file__).parent / "static"
ENGINE: web.AppKey[Engine] = web.AppKey("web_engine", Engine)

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers=_SECURITY_HEADERS)


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
    replies = await request.app[ENGINE].handle(inbound)
    return web.json_response(render(replies), headers={"Cache-Control": "no-store"})


_error = error_response


def setup_web(app: web.Application, engine: Engine) -> None:
    app[ENGINE] = engine
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    app.router.add_static("/static/", STATIC, append_version=True)
