"""Teams wiring: POST /api/messages -> botbuilder CloudAdapter -> engine -> Adaptive Card replies.

Every botbuilder import in the project lives under adapters/teams/ (the SDK is in maintenance mode;
keeping it here keeps a later swap cheap). Translation and rendering are pure (translate.py, render.py);
this module only authenticates, routes and sends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AuthenticateRequestResult, ClaimsIdentity, ConnectorFactory

from adapters.http import ClientError, error_response, parse_json, read_text
from adapters.teams.forms import CardForm, build_forms
from adapters.teams.render import render, render_form
from adapters.teams.translate import (
    FormSubmission,
    bot_was_added,
    conversation_key,
    describe,
    form_submission,
    to_inbound,
)
from bot.engine import Engine
from bot.messages import ConversationKey, Reply
from bot.settings import Settings
from bot.state import ConversationState
from bot.store.base import Store

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

ROUTE = "/api/messages"
APP_TYPES = {
    "multitenant": "MultiTenant",
    "singletenant": "SingleTenant",
    "userassignedmsi": "UserAssignedMSI",
}
# The SDK fetches Microsoft's signing keys with blocking HTTP calls that have no timeout.
AUTH_TIMEOUT_SECONDS = 10.0
AUTH_THREADS = 4
MAX_AUTH_HEADER_CHARS = 16_384
SIGNING_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})  # what the SDK accepts


class TeamsConfigError(ValueError):
    """The MICROSOFT_APP_* settings do not make a usable Bot Framework configuration."""


@dataclass(frozen=True)
class BotFrameworkConfig:
    """The config ConfigurationBotFrameworkAuthentication reads; the attribute names are the SDK's."""

    APP_ID: str | None
    APP_PASSWORD: str | None
    APP_TYPE: str
    APP_TENANTID: str | None

    @property
    def auth_enabled(self) -> bool:
        return bool(self.APP_ID)

    @classmethod
    def from_settings(cls, settings: Settings) -> BotFrameworkConfig:
        app_id = (settings.microsoft_app_id or "").strip() or None
        password = settings.microsoft_app_password or None
        tenant = (settings.microsoft_app_tenant_id or "").strip() or None
        app_type = APP_TYPES.get(settings.microsoft_app_type.strip().lower())
        if app_type is None:
            raise TeamsConfigError("MICROSOFT_APP_TYPE must be MultiTenant, SingleTenant or UserAssignedMSI")
        if app_id is None:
            # Local mode (Bot Framework Emulator): no credentials at all, whatever the other settings say.
            return cls(None, None, "MultiTenant", None)
        if app_type in ("SingleTenant", "UserAssignedMSI") and tenant is None:
            raise TeamsConfigError(f"MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE={app_type}")
        if app_type != "UserAssignedMSI" and not password:
            raise TeamsConfigError(f"MICROSOFT_APP_PASSWORD is required when MICROSOFT_APP_TYPE={app_type}")
        return cls(app_id, password, app_type, tenant)


class TeamsAuthentication(ConfigurationBotFrameworkAuthentication):  # type: ignore[misc]
    """The SDK's configuration-driven authentication, minus two per-turn costs this bot does not need.

    - Connector clients are reused per (bot app id, serviceUrl, audience) instead of being rebuilt on
      every turn. Building one costs ~10 ms of CPU in msrest, and each new one carries new credentials
      with an empty token cache, so with an app id every turn would fetch a fresh token from Entra ID.
    - No user-token (OAuth sign-in) client: the bot never signs users in, and building one costs as
      much as a connector client.

    Request authentication itself is the SDK's, unchanged.
    """

    MAX_CONNECTORS = 64

    def __init__(self, config: BotFrameworkConfig) -> None:
        super().__init__(config)
        self._connectors: OrderedDict[tuple[str, str, str], ConnectorClient] = OrderedDict()

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await super().authenticate_request(activity, auth_header)
        claims = result.claims_identity.claims if result.claims_identity else {}
        app_id = str(claims.get("aud") or claims.get("appid") or "")
        result.connector_factory = _ReusedConnectors(result.connector_factory, app_id, self._connectors)
        return result

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> None:
        return None


class _ReusedConnectors(ConnectorFactory):  # type: ignore[misc]
    def __init__(
        self,
        inner: ConnectorFactory,
        app_id: str,
        cache: OrderedDict[tuple[str, str, str], ConnectorClient],
    ) -> None:
        self._inner = inner
        self._app_id = app_id
        self._cache = cache

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_id, service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            self._cache[key] = client
            while len(self._cache) > TeamsAuthentication.MAX_CONNECTORS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return client


# --- the bot: one turn ------------------------------------------------------------------------------


class TeamsBot:
    """What happens on each Teams activity. Reads the activity as JSON, exactly as Teams posted it."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        local_mode: bool,
        forms: Mapping[str, CardForm] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.local_mode = local_mode
        self.forms: Mapping[str, CardForm] = forms or {}

    def may_reply(self, context: TurnContext) -> bool:
        """In local mode nobody vouches for the serviceUrl: reply only to one on this machine (the Emulator).

        With an app id, the SDK has checked that the token was issued for this serviceUrl.
        """
        if not self.local_mode or is_loopback_url(context.activity.service_url or ""):
            return True
        log.warning(
            "teams_reply_blocked", extra={"reason": "local mode replies only to a loopback serviceUrl"}
        )
        return False

    async def on_turn(self, context: TurnContext, activity: Mapping[str, Any]) -> None:
        kind = activity.get("type")
        if kind == "message":
            submission = form_submission(activity)
            if submission is not None and submission.form in self.forms:
                await self._on_form(context, activity, submission)
                return
            inbound = to_inbound(activity)
            if inbound is None:
                log.debug("teams_activity_ignored", extra=describe(activity))
                return
            if self.may_reply(context):
                await self.send(context, await self.engine.handle(inbound))
        elif kind == "conversationUpdate":
            key = conversation_key(activity)
            if (
                bot_was_added(activity)
                and key is not None
                and self.may_reply(context)
                and await self._first_welcome(key)
            ):
                log.info("teams_welcome", extra=describe(activity))
                await self.send(context, [self.welcome()])
        elif kind == "invoke":
            # We send no cards that invoke (Action.Execute, task modules): acknowledge, do nothing.
            await context.send_activity(Activity(type="invokeResponse", value=InvokeResponse(status=200)))
        else:
            log.debug("teams_activity_ignored", extra=describe(activity))

    async def _on_form(
        self, context: TurnContext, activity: Mapping[str, Any], submission: FormSubmission
    ) -> None:
        form = self.forms[submission.form]
        key = conversation_key(activity)
        if key is None or not self.may_reply(context):
            return
        problems = form.validate(submission.values)
        if problems:
            # Field names only: the values people typed are never logged.
            log.info("teams_form_invalid", extra={"form": form.name, "fields": sorted(problems)})
            await context.send_activity(
                Activity().deserialize(render_form(form, submission.values, problems))
            )
            return
        log.info("teams_form_submitted", extra={"form": form.name})
        await self.send(context, await form.submit(key, submission.values))

    def welcome(self) -> Reply:
        return self.engine.welcome()

    async def _first_welcome(self, key: ConversationKey) -> bool:
        """True once per conversation: Teams may repeat the 'bot added' update (reinstalls, retries)."""
        async with self.store.conversation(key) as slot:
            if slot.state is not None:
                return False
            slot.save(ConversationState().model_dump(mode="json"))
            return True

    async def send(self, context: TurnContext, replies: Sequence[Reply]) -> None:
        if not replies or not self.may_reply(context):
            return
        texts = self.engine.knowledge.texts
        payloads = render(replies, feedback_prompt=texts.feedback_prompt, forms=self.forms)
        await context.send_activities([Activity().deserialize(payload) for payload in payloads])

    async def on_turn_error(self, context: TurnContext, error: Exception) -> None:
        """Log the failure (type only at error level, no user text) and tell the user briefly."""
        log.error(
            "teams_turn_failed",
            extra={"error": type(error).__name__, **describe(context.activity.serialize())},
            exc_info=error,
        )
        if context.activity.type != "message" or not self.may_reply(context):
            return
        try:
            await context.send_activity(Activity(type="message", text=self.engine.knowledge.texts.error))
        except Exception as exc:
            log.warning("teams_error_reply_failed", extra={"error": type(exc).__name__})


# --- the endpoint: authentication and routing --------------------------------------------------------


class TeamsEndpoint:
    def __init__(self, config: BotFrameworkConfig, bot: TeamsBot) -> None:
        self.config = config
        self.auth = TeamsAuthentication(config)
        self.adapter = CloudAdapter(self.auth)
        self.adapter.on_turn_error = bot.on_turn_error
        self.bot = bot
        # Token checks that must fetch signing keys wait here, apart from the threads that send replies.
        self._auth_threads = ThreadPoolExecutor(max_workers=AUTH_THREADS, thread_name_prefix="teams-auth")

    async def close(self, _app: web.Application | None = None) -> None:
        self._auth_threads.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        if request.content_type != "application/json":
            return _error(415, "send the activity as JSON with Content-Type: application/json")
        try:
            body = parse_json(await read_text(request))
        except ClientError as exc:
            return exc.response(request)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
            return _error(400, "the body must be a Bot Framework activity (an object with a 'type')")

        header = request.headers.get("Authorization", "")
        if self.config.auth_enabled and not looks_like_bearer_jwt(header):
            # Cheap, reject-only check: the signature is always verified by the SDK below.
            log.info("teams_auth_rejected", extra={"reason": "missing_or_malformed_token"})
            return _error(401, "unauthorized")
        try:
            activity = Activity().deserialize(body)
        except Exception:
            return _error(400, "the body is not a valid Bot Framework activity")
        try:
            auth_result = await self._authenticate(activity, header)
        except Exception as exc:  # any failure to prove the sender fails closed
            log.info("teams_auth_rejected", extra={"reason": type(exc).__name__})
            return _error(401, "unauthorized")

        problem = self._shape_problem(body)
        if problem is not None:
            log.info("teams_bad_activity", extra={"reason": problem, **describe(body)})
            return _error(400, problem)

        async def logic(context: TurnContext) -> None:
            await self.bot.on_turn(context, body)

        invoke_response = await self.adapter.process_activity(auth_result, activity, logic)
        log.debug(
            "teams_request", extra={**describe(body), "ms": round((time.perf_counter() - started) * 1000, 2)}
        )
        if invoke_response is not None:
            return web.json_response(invoke_response.body, status=invoke_response.status or 200)
        return web.Response(status=200)

    async def _authenticate(self, activity: Activity, header: str) -> Any:
        if not header:
            # Local mode without a token: the SDK returns an anonymous identity, no I/O.
            return await self.auth.authenticate_request(activity, "")
        # Token validation may fetch Microsoft's OpenID metadata with blocking `requests` calls and no
        # timeout: run it on a worker thread (with its own event loop) so the server never stalls, and
        # give up after AUTH_TIMEOUT_SECONDS (then the request is rejected).
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(
            self._auth_threads, lambda: asyncio.run(self.auth.authenticate_request(activity, header))
        )
        return await asyncio.wait_for(work, AUTH_TIMEOUT_SECONDS)

    def _shape_problem(self, body: Mapping[str, Any]) -> str | None:
        service_url = body.get("serviceUrl")
        if not isinstance(service_url, str) or urlsplit(service_url).scheme not in ("http", "https"):
            return "serviceUrl must be an http(s) URL"
        conversation = body.get("conversation")
        if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
            return "conversation.id is required"
        return None


def looks_like_bearer_jwt(header: str) -> bool:
    """'Bearer <header>.<payload>.<signature>' with a JSON header naming an RSA signing algorithm."""
    if not header or len(header) > MAX_AUTH_HEADER_CHARS:
        return False
    scheme, _, token = header.partition(" ")
    parts = token.strip().split(".")
    if scheme != "Bearer" or len(parts) != 3 or not all(parts):
        return False
    try:
        jose = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(jose, dict) and jose.get("alg") in SIGNING_ALGORITHMS


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_error = error_response


def setup_teams(app: web.Application, services: Services) -> None:
    config = BotFrameworkConfig.from_settings(services.settings)
    forms = build_forms(services)
    bot = TeamsBot(services.engine, services.store, local_mode=not config.auth_enabled, forms=forms)
    endpoint = TeamsEndpoint(config, bot)
    app.router.add_post(ROUTE, endpoint.handle)
    app.on_cleanup.append(endpoint.close)
    if config.auth_enabled:
        log.info("teams_enabled", extra={"route": ROUTE, "app_type": config.APP_TYPE})
    else:
        log.warning(
            "teams_local_mode",
            extra={
                "route": ROUTE,
                "reason": "MICROSOFT_APP_ID is not set: requests are NOT authenticated. For the Bot "
                "Framework Emulator on this machine only; replies go only to a loopback serviceUrl.",
            },
        )
