"""Slack wiring: a slack-bolt AsyncApp served at POST /slack/events of the shared aiohttp app (HTTP
mode, every request signature-checked by bolt) and/or over Socket Mode.

Listeners translate the payload (translate.py, pure), acknowledge well inside Slack's 3 seconds and
queue the turn; workers then claim the event once → engine → render (render.py, pure), and the
replies are posted to the Web API beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import Clock as SlackSdkClock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.http import ClientError, error_response, read_text
from adapters.slack import render, translate
from adapters.slack.forms import SlackForm, build_forms
from adapters.slack.render import SlackMessage
from adapters.slack.texts import SlackTexts, load_slack_texts
from adapters.slack.translate import (
    FORM_ACTION_PREFIX,
    FORM_CALLBACK_PREFIX,
    Click,
    FormOpening,
    HomeOpened,
    ReplyTo,
)
from bot.clock import Clock
from bot.engine import Engine
from bot.messages import Reply, reply_from_json, reply_to_json
from bot.settings import Settings
from bot.store.inbound import InboundEvent, InboundQueue
from bot.store.sql import SqlStore

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEDUPE_SOURCE = "slack"
# Workers answering stored events (claim, engine, render, post). A turn is mostly CPU (FAQ matching)
# on this one event loop, so more workers add no throughput, while every turn running at once can
# delay the next request's ack by its length. Two let one turn's waits overlap the other's matching.
TURN_WORKERS = 2
POLL_SECONDS = 1.0  # how often idle workers look for events stored by other processes
DRAIN_POLL_SECONDS = 0.01
SHUTDOWN_GRACE_SECONDS = 10.0


class SlackFrontEnd:
    """The bolt app, its listeners, and the background turns they start."""

    def __init__(
        self,
        engine: Engine,
        store: SqlStore,
        settings: Settings,
        *,
        texts: SlackTexts | None = None,
        forms: Sequence[SlackForm] = (),
    ) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings
        self.texts = texts or load_slack_texts()
        self.forms: dict[str, SlackForm] = {form.name: form for form in forms}
        self.client = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )
        self.bolt = AsyncApp(
            name="mastery-assistant",
            client=self.client,
            signing_secret=settings.slack_signing_secret or "",
            # Our listeners return as soon as they have queued the work, which runs in our own
            # workers: counted, bounded and waited for at shutdown (bolt's own tasks are untracked).
            process_before_response=True,
            raise_error_for_unhandled_request=True,
            logger=_bolt_logger(),
        )
        if settings.slack_signing_secret:  # HTTP mode; Socket Mode has no signatures to check
            _verify_with(self.bolt, settings.slack_signing_secret, store.clock)
        # Acknowledged events wait in the database, not in memory (bot/store/inbound.py): a crash
        # loses none, a backlog is bounded, and any process can answer them.
        self.queue = InboundQueue(store, DEDUPE_SOURCE, max_open=settings.slack_queue_max)
        self._wake = asyncio.Event()
        self._busy = 0
        self._updates: dict[int, asyncio.Task[None]] = {}  # button updates to post before the answer
        self._tasks: set[asyncio.Task[None]] = set()  # short-lived: button updates, modals, home tabs
        self._session: aiohttp.ClientSession | None = None
        self._register()

    # -- listeners: acknowledge, then hand over ------------------------------------------------------
    def _register(self) -> None:
        bolt = self.bolt
        bolt.event("message")(self._on_event)
        bolt.event("app_mention")(self._on_event)
        bolt.event("app_home_opened")(self._on_home_opened)
        bolt.command(re.compile(r"^/"))(self._on_command)
        bolt.action(re.compile(f"^{re.escape(FORM_ACTION_PREFIX)}"))(self._on_form_button)
        bolt.block_action(re.compile(r".*"))(self._on_action)
        bolt.view_submission(re.compile(f"^{re.escape(FORM_CALLBACK_PREFIX)}"))(self._on_form_submission)
        bolt.error(self._on_error)

    async def _on_event(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest
    ) -> None:
        turn = translate.from_event(body, bot_user_id=context.bot_user_id)
        if turn is None:
            log.debug("slack_event_ignored", extra={"kind": _kind(body)})
            await ack()
            return
        retry = _header(request, "x-slack-retry-num")
        extra = {"bot_user_id": context.bot_user_id, "retry": retry}
        await self._keep("event", body, turn.dedupe_id, extra)
        await ack()

    async def _on_home_opened(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        opened = translate.home_opened(body)
        if opened is not None:
            self._spawn(self._publish_home(opened), "home")

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        turn = translate.from_command(body)
        if turn is None:
            await ack()
            return
        command = translate.form_field(body, "command")
        if command != self.settings.slack_slash_command:
            log.warning("slack_unexpected_command", extra={"command": command})
        await self._keep("command", body, turn.dedupe_id)
        await ack()

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        click = translate.from_block_actions(body)
        if click is None:
            log.debug("slack_action_ignored", extra={"kind": _kind(body)})
            await ack()
            return
        event_id = await self._keep("action", body, click.turn.dedupe_id)
        await ack()
        if click.blocks is not None:
            # Take the buttons off at once (it needs no engine), so the message cannot be answered
            # twice; the answer is posted after it. A repeated click (an old copy of the message)
            # gets its buttons taken off too, and no second answer.
            update = self._spawn(self._take_buttons_off(click), "update")
            if event_id is not None:
                self._updates[event_id] = update

    async def _on_form_button(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        opening = translate.form_opening(body)
        if opening is not None:
            self._spawn(self._open_form(opening), "form_open")  # its trigger id is valid for 3 seconds

    async def _on_form_submission(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        submission = translate.form_submission(body)
        form = self.forms.get(submission.form) if submission else None
        if submission is None or form is None:
            log.warning("slack_form_unknown", extra={"form": submission.form if submission else None})
            await ack()
            return
        errors = render.form_errors(form.validate(submission.values), form)
        if errors:
            log.info("slack_form_invalid", extra={"form": form.name, "fields": sorted(errors)})
            await ack(response_action="errors", errors=errors)
            return
        await self._keep("form_submit", body, None)
        await ack()

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # Something we do not act on (another event type, a shortcut, a closed modal): say
            # "received" so Slack neither retries nor shows the user an error.
            log.debug("slack_request_unhandled", extra={"kind": _kind(body)})
            return BoltResponse(status=200, body="")
        log.error("slack_listener_failed", extra={"kind": _kind(body)}, exc_info=error)
        return None

    # -- durable turns: stored in the request, answered by the workers ----------------------------------
    async def _keep(
        self, kind: str, body: dict[str, Any], dedupe_id: str | None, extra: dict[str, Any] | None = None
    ) -> int | None:
        """Store the payload before Slack is told "received" (bot/store/inbound.py). None: a duplicate.

        Raises QueueFull when too many are waiting: bolt then answers 500 and Slack retries later.
        """
        event_id = await self.queue.put(kind, {"body": body, **(extra or {})}, dedupe_id)
        if event_id is None:
            log.info("slack_event_duplicate", extra={"kind": kind, "retry": (extra or {}).get("retry")})
        else:
            self._wake.set()
        return event_id

    async def _turn(self, event: InboundEvent) -> tuple[ReplyTo, list[Reply], dict[str, Any]] | None:
        """Ask the engine, for one stored event: where to reply, the replies, how to post them."""
        payload, kind = event.payload, event.kind
        body = payload.get("body") or {}
        if kind == "event":
            turn = translate.from_event(body, bot_user_id=payload.get("bot_user_id"))
            if turn is None:
                return None
            log.info("slack_event", extra={"kind": _kind(body), "retry": payload.get("retry")})
            return turn.reply_to, await self.engine.handle(turn.inbound), {}
        if kind == "command":
            turn = translate.from_command(body)
            if turn is None:
                return None
            log.info("slack_command", extra={"empty": turn.inbound.action is not None})
            return turn.reply_to, await self.engine.handle(turn.inbound), {}
        if kind == "action":
            click = translate.from_block_actions(body)
            if click is None:
                return None
            log.info("slack_click", extra={"ephemeral": click.ephemeral, "ours": click.ours})
            replies = await self.engine.handle(click.turn.inbound)
            replace_url = click.turn.reply_to.response_url if click.ours and click.ephemeral else None
            return click.turn.reply_to, replies, {"replace_url": replace_url, "chosen": click.label}
        if kind == "form_submit":
            submission = translate.form_submission(body)
            form = self.forms.get(submission.form) if submission else None
            if submission is None or form is None:
                return None
            log.info("slack_form_submitted", extra={"form": form.name})
            return submission.reply_to, await form.submit(submission.key, submission.values), {}
        log.warning("slack_event_kind_unknown", extra={"kind": kind})
        return None

    async def _process(self, event: InboundEvent) -> None:
        """Answer one stored event. Posting happens beside the workers (a slow Web API call does not
        hold up the next turn); the event is done once its replies are out."""
        update = self._updates.pop(event.id, None)
        try:
            if event.replies is not None:  # answered before a crash: post, do not ask the engine again
                stored = event.payload.get("reply") or {}
                reply_to = ReplyTo(**stored.get("to", {}))
                replies = [reply_from_json(r) for r in event.replies]
                options = stored.get("options", {})
            else:
                answered = await self._turn(event)
                if answered is None:
                    await self.queue.done(event)
                    return
                reply_to, replies, options = answered
                event = await self._answered(event, reply_to, replies, options)
        except Exception as exc:
            log.exception("slack_turn_failed", extra={"kind": event.kind, "attempt": event.attempts})
            await self.queue.release(event, type(exc).__name__)
            return
        self._spawn(self._post(event, reply_to, replies, options, update), "deliver")

    async def _post(
        self,
        event: InboundEvent,
        reply_to: ReplyTo,
        replies: list[Reply],
        options: dict[str, Any],
        update: asyncio.Task[None] | None,
    ) -> None:
        try:
            await self._deliver(reply_to, replies, after=update, **options)
        except Exception as exc:  # the Web API is unreachable: the stored replies are posted later
            log.warning("slack_post_failed", extra={"kind": event.kind, "error": type(exc).__name__})
            await self.queue.release(event, type(exc).__name__)
            return
        await self.queue.done(event)

    async def _answered(
        self, event: InboundEvent, reply_to: ReplyTo, replies: list[Reply], options: dict[str, Any]
    ) -> InboundEvent:
        """Keep the replies with the event, so a worker taking over after a crash posts them."""
        stored = [reply_to_json(r) for r in replies]
        payload = {**event.payload, "reply": {"to": dataclasses.asdict(reply_to), "options": options}}
        await self.queue.answered(event, stored, payload)
        return dataclasses.replace(event, replies=stored, payload=payload)

    async def _take_buttons_off(self, click: Click) -> None:
        if not (click.ours and click.message_ts and click.blocks is not None):
            return
        await self._call(
            "chat.update",
            self.client.chat_update(
                channel=click.turn.reply_to.channel,
                ts=click.message_ts,
                text=click.message_text or render.escape(click.label),
                blocks=render.mark_chosen(click.blocks, click.label, self.texts),
            ),
        )

    async def _publish_home(self, opened: HomeOpened) -> None:
        view = render.home_view(
            self.engine.knowledge.texts,
            self.texts,
            command=self.settings.slack_slash_command,
            channel=opened.channel,
        )
        await self._call("views.publish", self.client.views_publish(user_id=opened.user, view=view))

    async def _open_form(self, opening: FormOpening) -> None:
        form = self.forms.get(opening.form)
        if form is None:
            log.warning("slack_form_unknown", extra={"form": opening.form})
            await self._deliver(opening.reply_to, [Reply(self.texts.form_unavailable)])
            return
        view = render.form_modal(form, metadata=translate.form_metadata(opening), texts=self.texts)
        await self._call("views.open", self.client.views_open(trigger_id=opening.trigger_id, view=view))

    # -- delivery --------------------------------------------------------------------------------
    async def _deliver(
        self,
        reply_to: ReplyTo,
        replies: Sequence[Reply],
        *,
        replace_url: str | None = None,
        chosen: str | None = None,
        after: asyncio.Task[None] | None = None,
    ) -> None:
        if after is not None:
            await after  # the clicked message's update goes out before the answer
        messages = render.render(
            replies,
            texts=self.texts,
            feedback_prompt=self.engine.knowledge.texts.feedback_prompt,
            forms=self.forms.keys(),
        )
        for number, message in enumerate(messages):
            if reply_to.ephemeral_user is None:
                await self._call(
                    "chat.postMessage",
                    self.client.chat_postMessage(
                        channel=reply_to.channel,
                        thread_ts=reply_to.thread_ts,
                        text=message.text,
                        blocks=message.blocks,
                        unfurl_links=False,
                        unfurl_media=False,
                    ),
                )
            elif number == 0 and replace_url:
                # An ephemeral message cannot be edited through chat.update: replace it in place.
                prefix = [render.chosen_block(chosen, self.texts)] if chosen else []
                replaced = SlackMessage(
                    message.text, [*prefix, *message.blocks][: render.MAX_BLOCKS_PER_MESSAGE]
                )
                await self._respond(replace_url, replaced, replace_original=True)
            else:
                await self._post_ephemeral(reply_to, message)

    async def _post_ephemeral(self, reply_to: ReplyTo, message: SlackMessage) -> None:
        assert reply_to.ephemeral_user is not None
        try:
            await self.client.chat_postEphemeral(
                channel=reply_to.channel,
                user=reply_to.ephemeral_user,
                thread_ts=reply_to.thread_ts,
                text=message.text,
                blocks=message.blocks,
            )
        except SlackApiError as exc:
            # Not a member of that channel, or a DM between two other people: the command's own
            # response URL reaches the user anywhere.
            log.info("slack_ephemeral_fallback", extra={"error": _api_error(exc)})
            if reply_to.response_url:
                await self._respond(reply_to.response_url, message, replace_original=False)

    async def _respond(self, url: str, message: SlackMessage, *, replace_original: bool) -> None:
        webhook = AsyncWebhookClient(url, session=self._session)
        response = await webhook.send(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=replace_original,
        )
        if response.status_code != 200:
            log.warning("slack_response_url_failed", extra={"status": response.status_code})

    async def _call(self, method: str, call: Coroutine[Any, Any, Any]) -> None:
        try:
            await call
        except SlackApiError as exc:
            log.warning("slack_api_error", extra={"method": method, "error": _api_error(exc)})

    # -- workers, tasks and lifecycle -------------------------------------------------------------
    async def _work(self) -> None:
        """Claim stored events one at a time and answer them; also those left by a crashed process."""
        while True:
            events = await self._claim_some()
            if not events:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                continue
            for event in events:
                self._busy += 1
                try:
                    await self._process(event)
                finally:
                    self._busy -= 1

    async def _claim_some(self) -> list[InboundEvent]:
        try:
            return await self.queue.claim(1, dt.timedelta(seconds=self.settings.slack_event_lease_seconds))
        except Exception:  # the database is away: try again after a pause, never stop working
            log.exception("slack_queue_unavailable")
            await asyncio.sleep(POLL_SECONDS)
            return []

    def _spawn(self, work: Coroutine[Any, Any, None], kind: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._guarded(work, kind))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, work: Coroutine[Any, Any, None], kind: str) -> None:
        try:
            await work
        except Exception:
            log.exception("slack_task_failed", extra={"kind": kind})

    async def drain(self) -> None:
        """Wait until every event stored so far is answered and posted (tests, and shutdown)."""
        while await self.queue.waiting() or self._busy or self._tasks:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                self._wake.set()
                await asyncio.sleep(DRAIN_POLL_SECONDS)

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: Events API, interactivity and slash commands, all verified by bolt."""
        try:
            bolt_request = AsyncBoltRequest(
                body=await read_text(request),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]  # what bolt's own adapter passes
            )
        except ClientError as exc:
            return exc.response(request)
        except Exception:  # bolt parses the JSON or form body as it builds the request
            return ClientError(400, "the body is not a Slack payload").response(request)
        if not isinstance(bolt_request.body, dict):  # "null", "[1]": valid JSON, not a payload
            return ClientError(400, "the body is not a Slack payload").response(request)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (timestamp.isascii() and timestamp.isdigit()):  # bolt would fail on int(timestamp)
            log.info("slack_request_rejected", extra={"status": 401, "reason": "timestamp"})
            return error_response(401, "invalid request")
        bolt_response = await self.bolt.async_dispatch(bolt_request)
        if bolt_response.status == 401:
            log.info("slack_request_rejected", extra={"status": 401})
        return await to_aiohttp_response(bolt_response)

    async def lifecycle(self, _app: web.Application) -> AsyncIterator[None]:
        self._session = aiohttp.ClientSession()
        self.client.session = self._session
        loop = asyncio.get_running_loop()
        workers = [loop.create_task(self._work()) for _ in range(TURN_WORKERS)]
        socket: Any = None  # bolt's handler: its close_async() is untyped
        connecting: asyncio.Task[None] | None = None
        if self.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            socket = AsyncSocketModeHandler(
                self.bolt,
                app_token=self.settings.slack_app_token,
                logger=_bolt_logger(),
                web_client=self.client,
            )
            connecting = loop.create_task(self._connect(socket))
        try:
            yield
        finally:
            if connecting is not None:
                connecting.cancel()
            if socket is not None:
                await socket.close_async()
            try:
                async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
                    await self.drain()
            except TimeoutError:  # still stored: answered on the next start, or by another process
                log.warning("slack_turns_left_for_later", extra={"posting": len(self._tasks)})
            for task in [*workers, *self._tasks]:
                task.cancel()
            await asyncio.gather(*workers, *self._tasks, return_exceptions=True)
            await self._session.close()

    async def _connect(self, socket: Any) -> None:
        # Runs beside the server: until Slack answers, the other front ends keep working.
        await socket.connect_async()
        log.info("slack_socket_mode_connected")


SLACK: web.AppKey[SlackFrontEnd] = web.AppKey("slack", SlackFrontEnd)


def setup_slack(app: web.Application, services: Services) -> SlackFrontEnd | None:
    """Mount Slack when configured; otherwise say once why it is off and carry on without it."""
    settings = services.settings
    http_mode = bool(settings.slack_bot_token and settings.slack_signing_secret)
    socket_mode = bool(settings.slack_bot_token and settings.slack_app_token)
    if not (http_mode or socket_mode):
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", settings.slack_bot_token),
                (
                    "SLACK_SIGNING_SECRET or SLACK_APP_TOKEN",
                    settings.slack_signing_secret or settings.slack_app_token,
                ),
            )
            if not value
        ]
        log.info("slack_disabled", extra={"missing": missing})
        return None
    front = SlackFrontEnd(services.engine, services.store, settings, forms=build_forms(services))
    app[SLACK] = front
    if http_mode:
        app.router.add_post(EVENTS_PATH, front.handle_http)
    app.cleanup_ctx.append(front.lifecycle)
    log.info(
        "slack_enabled",
        extra={"http_path": EVENTS_PATH if http_mode else None, "socket_mode": socket_mode},
    )
    return front


class _SlackClock(SlackSdkClock):
    """slack_sdk's clock interface (seconds since the epoch) over ours, for the replay window."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp()


def _verify_with(bolt: AsyncApp, signing_secret: str, clock: Clock) -> None:
    """Make bolt's request verification judge timestamps by the service's clock.

    Bolt builds its `SignatureVerifier` without a clock argument; slack_sdk's verifier takes one, so
    we give bolt's middleware a verifier made with ours. Start-up fails if bolt's layout changes.
    """
    verifiers = [m for m in bolt._async_middleware_list if isinstance(m, AsyncRequestVerification)]
    if len(verifiers) != 1:
        raise RuntimeError("slack_bolt's request verification middleware was not found")
    verifiers[0]._verifier = SignatureVerifier(signing_secret, clock=_SlackClock(clock))


def _bolt_logger() -> logging.Logger:
    """Bolt logs request bodies (message text) at info and debug: keep its loggers at warning."""
    logger = logging.getLogger("adapters.slack.bolt")
    logger.setLevel(max(logging.WARNING, logging.getLogger().level))
    return logger


def _header(request: AsyncBoltRequest, name: str) -> str | None:
    values = request.headers.get(name) or []
    return str(values[0]) if values else None


def _kind(body: dict[str, Any]) -> str:
    """The payload's type, for logs: e.g. event_callback/message/message_changed, block_actions."""
    parts = [str(body.get("type") or ("command" if "command" in body else "unknown"))]
    event = body.get("event")
    if isinstance(event, dict):
        parts.extend(str(event[k]) for k in ("type", "subtype") if event.get(k))
    return "/".join(parts)


def _api_error(exc: SlackApiError) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("error") if response is not None else exc)
