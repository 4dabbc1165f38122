"""Reading request bodies the same careful way in every front end: junk gets a short 4xx, never a 500.

Each public endpoint (/api/chat, /slack/events, /api/messages) reads its body through `read_text` and
`parse_json`. A body that cannot be read (a false Content-Encoding), an unknown charset, bytes that
are not text in their charset, malformed or absurdly nested JSON: each becomes a `ClientError` with a
status and a message that is safe to show, logged at warning level without a traceback or the body.
"""

from __future__ import annotations

import codecs
import json
import logging
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class ClientError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self, request: web.Request) -> web.Response:
        log.warning(
            "bad_request", extra={"path": request.path, "status": self.status, "reason": self.message}
        )
        return error_response(self.status, self.message)


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_text(request: web.Request) -> str:
    """The body as text in its declared charset (UTF-8 when none is declared)."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ClientError(415, "compressed bodies are not accepted: send it without Content-Encoding")
    charset = request.charset or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise ClientError(415, f"unsupported charset {charset[:40]!r}; send UTF-8") from None
    try:
        raw = await request.read()
    except web.HTTPException:
        raise
    except Exception:  # aiohttp's payload errors (a body shorter than its Content-Length, ...)
        raise ClientError(400, "the body could not be read") from None
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise ClientError(400, f"the body is not valid {charset[:40]} text") from None


def parse_json(text: str) -> Any:
    """JSON from text. Nesting deep enough to exhaust the parser's recursion is refused like any
    other malformed JSON (the C parser gives up quickly, so this costs nothing in the normal case)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ClientError(400, "the body is not valid JSON") from None
