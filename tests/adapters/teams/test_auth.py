"""With MICROSOFT_APP_ID set, only requests carrying a valid Bot Framework JWT get through.

Nothing here bypasses verification: tokens are real RS256 JWTs. Microsoft's signing keys are replaced by
a local OpenID metadata server (the SDK's own override point), so a token signed with that server's key
is genuine for the test and a token signed with any other key is a forgery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.adapters.teams.conftest import AppFactory
from tests.adapters.teams.rig import MockConnector, load_activity

APP_ID = "5e8fd9a1-1c3b-4d0e-9f6a-2b7c8d9e0f1a"
CHANNEL_ISSUER = "https://api.botframework.com"
OUTBOUND_TOKEN = "outbound-token-from-entra"
FAST = 5.0  # seconds: rejections must not hang on network look-ups


@dataclass
class SigningKey:
    kid: str
    key: rsa.RSAPrivateKey

    @classmethod
    def new(cls) -> SigningKey:
        return cls(uuid.uuid4().hex, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "endorsements": ["msteams", "emulator"]}

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": CHANNEL_ISSUER, "aud": APP_ID, "nbf": now - 10, "exp": now + 600, **claims}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture
async def microsoft_keys(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SigningKey]:
    """Serve the channel's OpenID metadata and signing key from loopback; return that key."""
    key = SigningKey.new()
    app = web.Application()
    server = TestServer(app, host="127.0.0.1")

    async def metadata(_request: web.Request) -> web.Response:
        return web.json_response({"issuer": CHANNEL_ISSUER, "jwks_uri": str(server.make_url("/keys"))})

    async def keys(_request: web.Request) -> web.Response:
        return web.json_response({"keys": [key.jwk()]})

    app.router.add_get("/v1/.well-known/openidconfiguration", metadata)
    app.router.add_get("/keys", keys)
    await server.start_server()
    monkeypatch.setattr(
        "botframework.connector.auth.ChannelValidation.open_id_metadata_endpoint",
        str(server.make_url("/v1/.well-known/openidconfiguration")),
    )
    # The bot's own outgoing token would come from Entra ID; hand out a fixed one instead.
    monkeypatch.setattr(
        "botframework.connector.auth.MicrosoftAppCredentials.get_access_token",
        lambda self, force_refresh=False: OUTBOUND_TOKEN,
    )
    yield key
    await server.close()


@pytest.fixture
async def auth_client(make_client: AppFactory) -> TestClient:
    return await make_client(microsoft_app_id=APP_ID, microsoft_app_password="not-a-real-secret")


async def timed_post(
    client: TestClient, activity: dict[str, Any], headers: dict[str, str]
) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.post("/api/messages", json=activity, headers=headers)
    return response.status, time.perf_counter() - started


async def test_valid_channel_token_is_accepted_and_replies_are_authenticated(
    auth_client: TestClient, connector: MockConnector, microsoft_keys: SigningKey
) -> None:
    activity = load_activity("personal_message", connector.url)
    token = microsoft_keys.token(serviceurl=connector.url)
    status, _ = await timed_post(auth_client, activity, {"Authorization": f"Bearer {token}"})
    assert status == 200
    [sent] = connector.sent
    assert sent.authorization == f"Bearer {OUTBOUND_TOKEN}"
    assert sent.reply_to_id == activity["id"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIn0.",  # alg none
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln",  # HMAC: not what Bot Framework signs with
    ],
)
async def test_missing_or_malformed_token_is_rejected(
    auth_client: TestClient, connector: MockConnector, header: str | None
) -> None:
    activity = load_activity("personal_message", connector.url)
    status, seconds = await timed_post(
        auth_client, activity, {"Authorization": header} if header is not None else {}
    )
    assert status == 401
    assert seconds < FAST
    assert connector.sent == []


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("forged_signature", "InvalidSignatureError"),
        ("wrong_audience", "PermissionError"),
        ("wrong_issuer", "PermissionError"),
        ("expired", "ExpiredSignatureError"),
        ("other_service_url", "PermissionError"),
        ("unknown_kid", None),
    ],
)
async def test_forged_or_misdirected_tokens_are_rejected(
    auth_client: TestClient,
    connector: MockConnector,
    microsoft_keys: SigningKey,
    caplog: pytest.LogCaptureFixture,
    case: str,
    reason: str | None,
) -> None:
    activity = load_activity("personal_message", connector.url)
    attacker = SigningKey(microsoft_keys.kid, SigningKey.new().key)  # same key id, different key
    claims: dict[str, Any] = {"serviceurl": connector.url}
    signer = microsoft_keys
    if case == "forged_signature":
        signer = attacker
    elif case == "wrong_audience":
        claims["aud"] = "some-other-bot"
    elif case == "wrong_issuer":
        claims["iss"] = "https://attacker.example"
    elif case == "expired":
        claims.update(nbf=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    elif case == "other_service_url":
        claims["serviceurl"] = "https://smba.trafficmanager.net/amer/"
    elif case == "unknown_kid":
        signer = SigningKey.new()
    with caplog.at_level(logging.INFO, logger="adapters.teams.app"):
        status, seconds = await timed_post(
            auth_client, activity, {"Authorization": f"Bearer {signer.token(**claims)}"}
        )
    assert status == 401
    assert seconds < FAST
    assert connector.sent == []
    [rejected] = [r for r in caplog.records if r.getMessage() == "teams_auth_rejected"]
    if reason is not None:  # rejected for the right reason, not by accident
        assert rejected.reason == reason  # type: ignore[attr-defined]


async def test_forged_token_fails_closed_without_microsofts_keys(
    auth_client: TestClient, connector: MockConnector
) -> None:
    """The real key look-up: with no network it fails (or, online, finds no such key). Either way 401."""
    activity = load_activity("personal_message", connector.url)
    token = SigningKey.new().token(serviceurl=connector.url)
    status, seconds = await timed_post(auth_client, activity, {"Authorization": f"Bearer {token}"})
    assert status == 401
    assert seconds < 15  # bounded by the adapter's own timeout even on a network that swallows packets
    assert connector.sent == []


async def test_auth_mode_does_not_limit_service_urls_to_loopback(
    auth_client: TestClient, microsoft_keys: SigningKey
) -> None:
    """In production the token vouches for the serviceUrl; the loopback rule is for local mode only."""
    service_url = "https://smba.trafficmanager.net/amer/"
    activity = load_activity("typing", service_url)  # nothing is sent back, so no real network call
    token = microsoft_keys.token(serviceurl=service_url)
    status, _ = await timed_post(auth_client, activity, {"Authorization": f"Bearer {token}"})
    assert status == 200


async def test_slow_key_server_times_out_closed_without_stalling_the_server(
    auth_client: TestClient, connector: MockConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = web.Application()
    released = asyncio.Event()  # the key server answers only when the test is over

    async def stall(_request: web.Request) -> web.Response:
        await released.wait()
        return web.json_response({})

    app.router.add_get("/v1/.well-known/openidconfiguration", stall)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        monkeypatch.setattr(
            "botframework.connector.auth.ChannelValidation.open_id_metadata_endpoint",
            str(server.make_url("/v1/.well-known/openidconfiguration")),
        )
        monkeypatch.setattr("adapters.teams.app.AUTH_TIMEOUT_SECONDS", 0.4)
        activity = load_activity("personal_message", connector.url)
        token = SigningKey.new().token(serviceurl=connector.url)
        request = asyncio.create_task(timed_post(auth_client, activity, {"Authorization": f"Bearer {token}"}))
        await asyncio.sleep(0.1)
        health = await auth_client.get("/healthz")  # answered while the key fetch is stuck
        assert health.status == 200
        status, _ = await request  # returns although the key server never answers
        assert status == 401
        assert connector.sent == []
    finally:
        released.set()
        await server.close()
