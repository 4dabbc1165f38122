"""Slack wiring: a slack-bolt AsyncApp served at POST /slack/events of the shared aiohttp app (HTTP
mode, every request signature-checked by bolt) and/or over Socket Mode.

Listeners translate the payload (translate.py, pure), acknowledge well inside Slack's 3 seconds and
queue the turn; workers then claim the event once → engine → render (render.py, pure), and the
replies are posted to the Web API beside them.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from functools import partial
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
    FormSubmission,
    HomeOpened,
    ReplyTo,
    SlackTurn,
)
from bot.clock import Clock
from bot.engine import Engine
from bot.messages import Reply
from bot.settings import Settings
from bot.store.base import Store

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEDUPE_SOURCE = "slack"
# Workers taking turns (claim, engine, render) off the queue. A turn is mostly CPU (FAQ matching)
# on this one event loop, so more workers add no throughput, while every turn running at once can
# delay the next request's ack by its length. Two let one turn's database wait overlap the other's
# matching. Posting replies to Slack happens beside the workers, not in them.
TURN_WORKERS = 2
SHUTDOWN_GRACE_SECONDS = 10.0


class SlackFrontEnd:
    """The bolt app, its listeners, and the background turns they start."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
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
        # Waiting turns are queued as small translated records, not as tasks holding whole payloads:
        # under a backlog that keeps the garbage collector's full passes (and so ack delays) short.
        self._turns: asyncio.Queue[tuple[str, Callable[[], Awaitable[None]]]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()  # short-lived: replies being posted, modals opened
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
        await ack()
        turn = translate.from_event(body, bot_user_id=context.bot_user_id)
        if turn is None:
            log.debug("slack_event_ignored", extra={"kind": _kind(body)})
            return
        retry = _header(request, "x-slack-retry-num")
        self._enqueue("event", partial(self._answer_event, turn, _kind(body), retry))

    async def _on_home_opened(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        opened = translate.home_opened(body)
        if opened is not None:
            self._spawn(self._publish_home(opened), "home")

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        turn = translate.from_command(body)
        if turn is None:
            return
        command = translate.form_field(body, "command")
        if command != self.settings.slack_slash_command:
            log.warning("slack_unexpected_command", extra={"command": command})
        self._enqueue("command", partial(self._answer_command, turn))

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = translate.from_block_actions(body)
        if click is None:
            log.debug("slack_action_ignored", extra={"kind": _kind(body)})
            return
        # Take the buttons off at once (it needs no engine), so the message cannot be answered twice.
        update = self._spawn(self._take_buttons_off(click), "update") if click.blocks is not None else None
        self._enqueue("action", partial(self._answer_click, replace(click, blocks=None), update))

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
        await ack()
        self._enqueue("form_submit", partial(self._submit_form, form, submission))

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # Something we do not act on (another event type, a shortcut, a closed modal): say
            # "received" so Slack neither retries nor shows the user an error.
            log.debug("slack_request_unhandled", extra={"kind": _kind(body)})
            return BoltResponse(status=200, body="")
        log.error("slack_listener_failed", extra={"kind": _kind(body)}, exc_info=error)
        return None

    # -- background turns ------------------------------------------------------------------------
    async def _answer_event(self, turn: SlackTurn, kind: str, retry: str | None) -> None:
        if not await self._claim(turn.dedupe_id):
            log.info("slack_event_duplicate", extra={"dedupe_id": turn.dedupe_id, "retry": retry})
            return
        log.info("slack_event", extra={"kind": kind, "retry": retry})
        replies = await self.engine.handle(turn.inbound)
        self._spawn(self._deliver(turn.reply_to, replies), "deliver")

    async def _answer_command(self, turn: SlackTurn) -> None:
        log.info("slack_command", extra={"empty": turn.inbound.action is not None})
        replies = await self.engine.handle(turn.inbound)
        self._spawn(self._deliver(turn.reply_to, replies), "deliver")

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

    async def _answer_click(self, click: Click, update: asyncio.Task[None] | None) -> None:
        if not await self._claim(click.turn.dedupe_id):
            log.info("slack_click_repeated", extra={"dedupe_id": click.turn.dedupe_id})
            return
        log.info("slack_click", extra={"ephemeral": click.ephemeral, "ours": click.ours})
        replies = await self.engine.handle(click.turn.inbound)
        reply_to = click.turn.reply_to
        replace_url = reply_to.response_url if click.ours and click.ephemeral else None
        self._spawn(
            self._deliver(reply_to, replies, replace_url=replace_url, chosen=click.label, after=update),
            "deliver",
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

    async def _submit_form(self, form: SlackForm, submission: FormSubmission) -> None:
        log.info("slack_form_submitted", extra={"form": form.name})
        replies = await form.submit(submission.key, submission.values)
        self._spawn(self._deliver(submission.reply_to, replies), "deliver")

    async def _claim(self, dedupe_id: str | None) -> bool:
        return dedupe_id is None or await self.store.claim_event(DEDUPE_SOURCE, dedupe_id)

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

    # -- queue, tasks and lifecycle ---------------------------------------------------------------
    def _enqueue(self, kind: str, turn: Callable[[], Awaitable[None]]) -> None:
        self._turns.put_nowait((kind, turn))

    async def _work(self) -> None:
        while True:
            kind, turn = await self._turns.get()
            try:
                await turn()
            except Exception:
                log.exception("slack_turn_failed", extra={"kind": kind})
            finally:
                self._turns.task_done()

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
        """Wait until every turn received so far is answered (tests, and shutdown)."""
        while True:
            await self._turns.join()
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

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
            except TimeoutError:
                log.warning(
                    "slack_turns_abandoned",
                    extra={"queued": self._turns.qsize(), "posting": len(self._tasks)},
                )
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
