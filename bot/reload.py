"""Knowledge changes take effect without a restart.

The server re-reads the knowledge directory
- when a file in it changes (polled every KNOWLEDGE_RELOAD_SECONDS; 0 turns watching off),
- on SIGHUP (where the platform has it),
- on `POST /admin/reload` with `Authorization: Bearer <ADMIN_TOKEN>` (no token set: no endpoint).

Every reload validates first (`check_knowledge`). Valid knowledge is swapped in atomically
(`Engine.reload`); invalid knowledge is refused — `knowledge_reload_refused` is logged with each
problem's file and field — and the answers already live stay live. Each process reloads itself: with
several web processes, the file watcher (or a SIGHUP to each) reaches all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bot.app import SERVICES, Services
from knowledge.loader import Knowledge, check_knowledge

log = logging.getLogger(__name__)

Snapshot = dict[str, tuple[int, int]]
SETTLE_SECONDS = 0.1  # a change seen by the watcher is read after this pause (editors write in steps)


def snapshot(directory: Path) -> Snapshot:
    """(mtime, size) of every visible file under `directory`; temporary and hidden files are skipped."""
    out: Snapshot = {}
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        for name in files:
            if name.startswith(".") or name.endswith(("~", ".swp", ".tmp")):
                continue
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):  # removed while we looked
                stat = os.stat(path)
                out[os.path.relpath(path, directory)] = (stat.st_mtime_ns, stat.st_size)
    return out


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    problems: list[str] = field(default_factory=list)
    faq_entries: int = 0


class KnowledgeReloader:
    """Validates and swaps in the knowledge of one directory for one running server."""

    def __init__(self, services: Services, directory: Path | None = None) -> None:
        self.services = services
        self.directory = directory or services.knowledge.directory
        self._lock = asyncio.Lock()
        self._seen = snapshot(self.directory)
        self._tasks: set[asyncio.Task[ReloadResult]] = set()
        self.listening_for_sighup = False

    def changed(self) -> bool:
        return snapshot(self.directory) != self._seen

    async def reload(self, trigger: str) -> ReloadResult:
        async with self._lock:
            seen = snapshot(self.directory)  # before reading: a write during the check is seen next time
            knowledge, problems = await asyncio.to_thread(check_knowledge, self.directory)
            self._seen = seen
            if knowledge is None:
                messages = [str(p) for p in problems]
                log.warning(
                    "knowledge_reload_refused",
                    extra={"trigger": trigger, "directory": str(self.directory), "problems": messages},
                )
                return ReloadResult(False, messages, len(self.services.engine.knowledge.faq))
            await asyncio.to_thread(self._swap, knowledge)
            log.info("knowledge_reloaded", extra={"trigger": trigger, "faq": len(knowledge.faq)})
            return ReloadResult(True, [], len(knowledge.faq))

    def _swap(self, knowledge: Knowledge) -> None:
        self.services.engine.reload(knowledge)  # builds the new matcher, then swaps in one assignment
        self.services.knowledge = knowledge

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                if self.changed():
                    await asyncio.sleep(min(SETTLE_SECONDS, interval))
                    await self.reload("file_change")
            except Exception:  # keep watching whatever happened
                log.exception("knowledge_watch_failed")

    def reload_soon(self, trigger: str) -> None:
        """Start a reload from a synchronous callback (a signal handler)."""
        task = asyncio.get_running_loop().create_task(self.reload(trigger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


RELOADER: web.AppKey[KnowledgeReloader] = web.AppKey("knowledge_reloader", KnowledgeReloader)


def authorised(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def admin_reload(request: web.Request) -> web.Response:
    token = request.app[SERVICES].settings.admin_token
    if token is None or not token.get_secret_value():
        raise web.HTTPNotFound()
    if not authorised(request, token.get_secret_value()):
        return web.json_response(
            {"error": "a valid bearer token is required"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    result = await request.app[RELOADER].reload("admin")
    body = {"ok": result.ok, "problems": result.problems, "faq_entries": result.faq_entries}
    return web.json_response(body, status=200 if result.ok else 422)


def setup_reload(app: web.Application, services: Services) -> None:
    app[RELOADER] = KnowledgeReloader(services)
    app.router.add_post("/admin/reload", admin_reload)
    app.cleanup_ctx.append(_watching)


async def _watching(app: web.Application) -> AsyncIterator[None]:
    reloader = app[RELOADER]
    interval = app[SERVICES].settings.knowledge_reload_seconds
    watcher = asyncio.create_task(reloader.watch(interval)) if interval > 0 else None
    loop = asyncio.get_running_loop()
    sighup = getattr(signal, "SIGHUP", None)
    if sighup is not None:
        try:
            loop.add_signal_handler(sighup, reloader.reload_soon, "signal")
        except (NotImplementedError, RuntimeError, ValueError):  # no signals here (Windows, not main thread)
            sighup = None
    reloader.listening_for_sighup = sighup is not None
    yield
    if sighup is not None:
        loop.remove_signal_handler(sighup)
        reloader.listening_for_sighup = False
    if watcher is not None:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
