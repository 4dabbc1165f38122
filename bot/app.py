"""Wiring: settings → knowledge, store, engine → one aiohttp application serving every front end."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.clock import SYSTEM_CLOCK, Clock
from bot.engine import Engine
from bot.flows import Flow
from bot.metrics import CONTENT_TYPE, Metrics
from bot.outbox import RunningWorker, build_worker
from bot.settings import Settings
from bot.store.base import Store
from bot.store.sql import SqlStore
from bot.store.tickets import TicketStore
from knowledge.loader import Knowledge, load_knowledge

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    knowledge: Knowledge
    store: SqlStore
    engine: Engine
    metrics: Metrics


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


def build_flows(knowledge: Knowledge, store: Store, settings: Settings) -> list[Flow]:
    """The multi-step flows the engine offers. Each flow module registers itself here."""
    from bot.interview import InterviewFlow

    flows: list[Flow] = []
    # "Which programme fits me?" (bot/interview.py): intent "fit" and the menu:fit button.
    flows.append(InterviewFlow.from_settings(settings))
    # LLME enquiry (bot/enquiry.py): intent "contact", the menu:contact button, ticket status questions.
    from bot.enquiry import EnquiryFlow

    flows.append(EnquiryFlow.from_settings(settings, knowledge))
    return flows


def build_services(
    settings: Settings, *, store: SqlStore | None = None, clock: Clock = SYSTEM_CLOCK
) -> Services:
    """Knowledge, store and engine. The one clock goes to the store; the engine and outbox read it there."""
    knowledge = load_knowledge(settings.knowledge_dir)
    store = store or SqlStore.from_settings(settings, clock)
    metrics = Metrics()
    engine = Engine(
        knowledge,
        store,
        flows=build_flows(knowledge, store, settings),
        observer=metrics,
        max_chars=settings.max_message_chars,
    )
    return Services(settings, knowledge, store, engine, metrics)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise: within DB_HEALTH_TIMEOUT (default 2 s), so a load
    balancer's health check is never left hanging on a database that has gone away."""
    services = request.app[SERVICES]
    database = await services.store.ping()
    body = {
        "status": "ok" if database else "degraded",
        "database": "ok" if database else "unreachable",
        "faq_entries": len(services.engine.knowledge.faq),
    }
    return web.json_response(body, status=200 if database else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> web.Application:
    """One aiohttp application for every front end: web chat, Slack (when configured) and Teams."""
    from adapters.slack.app import setup_slack
    from adapters.teams.app import setup_teams
    from adapters.web.routes import setup_web

    settings = settings or Settings()
    services = services or build_services(settings)
    app = web.Application(
        client_max_size=1024 * 1024,
        middlewares=[_json_errors],
        # Bodies are read as sent: no platform compresses what it posts, and aiohttp's own inflater
        # fails on a false Content-Encoding with an error-level traceback per request. A compressed
        # body gets a 415 from adapters/http.py instead.
        handler_args={"auto_decompress": False},
    )
    app[SERVICES] = services
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    setup_web(
        app,
        services.engine,
        per_user=services.settings.web_rate_limit_per_user,
        per_address=services.settings.web_rate_limit_per_address,
    )
    setup_slack(app, services)
    setup_teams(app, services)
    # Knowledge reloads without a restart (bot/reload.py): file watcher, SIGHUP, POST /admin/reload.
    from bot.reload import setup_reload

    setup_reload(app, services)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    if services.settings.migrate_on_start:
        await services.store.open()
    log.info(
        "server_started",
        extra={
            "database": services.store.dialect,
            "database_at": services.store.description,  # resolved once: the file every command reads
            "faq": len(services.knowledge.faq),
        },
    )
    # Knowledge, matcher matrices and SDK objects live for the whole process: keep them out of the
    # garbage collector's full passes, which otherwise stall every request for 100+ ms now and then.
    gc.freeze()
    # Enquiry delivery (bot/outbox.py) runs inside the web process unless RUN_WORKER_IN_WEB=false.
    outbox = _start_outbox(services) if services.settings.run_worker_in_web else None
    yield
    if outbox is not None:
        await outbox.stop()
    await services.store.close()


def _start_outbox(services: Services) -> RunningWorker:
    engine = services.engine
    from adapters.slack.delivery import delivery_channels

    worker = build_worker(
        services.settings,
        TicketStore(services.store),
        lambda: engine.knowledge,
        extra_channels=delivery_channels(services.settings),
        count_dead_letter=services.metrics.dead_letters.inc,
    )
    return RunningWorker(worker)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No stack trace ever reaches a user: unexpected errors become a short JSON 500."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request_failed", extra={"path": request.path})
        return web.json_response({"error": "internal error"}, status=500)
