"""Teams test rig: a mock Bot Connector on loopback that records what the bot sends, and fixture loading.

Activities are the recorded JSON in tests/fixtures/teams/ with `serviceUrl` pointed at the mock, so the
bot's replies travel the real path: CloudAdapter -> ConnectorClient -> HTTP -> mock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.forms import FormField
from adapters.teams.render import card_of
from bot.messages import Choice, ConversationKey, Reply

FIXTURES = Path(__file__).parents[2] / "fixtures" / "teams"


def load_activity(fixture: str, service_url: str | None = None, /, **changes: Any) -> dict[str, Any]:
    """A recorded activity, with `serviceUrl` pointed at the mock connector and top-level fields changed."""
    activity: dict[str, Any] = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
    if service_url is not None:
        activity["serviceUrl"] = service_url
    activity.update(changes)
    return activity


@dataclass
class Sent:
    """One activity the bot posted to the connector."""

    conversation_id: str
    reply_to_id: str | None
    authorization: str | None
    activity: dict[str, Any]

    @property
    def card(self) -> dict[str, Any] | None:
        return card_of(self.activity)

    @property
    def card_text(self) -> str:
        card = self.card or {}
        return "\n".join(
            block.get("text", "") for block in card.get("body", []) if block.get("type") == "TextBlock"
        )

    @property
    def action_values(self) -> list[str]:
        card = self.card or {}
        return [a["data"]["action"] for a in card.get("actions", []) if a.get("type") == "Action.Submit"]


class MockConnector:
    """Records POST /v3/conversations/{id}/activities[/{replyToId}] and answers {"id": ...}."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.fail_next = 0  # answer this many requests with 500, as a failing Bot Connector would
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._record)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{reply_to}", self._record)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("/"))

    async def _record(self, request: web.Request) -> web.Response:
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response({"error": {"code": "ServiceError"}}, status=500)
        reply_to = request.match_info.get("reply_to")
        self.sent.append(
            Sent(
                conversation_id=unquote(request.match_info["conversation_id"]),
                reply_to_id=unquote(reply_to) if reply_to else None,
                authorization=request.headers.get("Authorization"),
                activity=await request.json(),
            )
        )
        return web.json_response({"id": f"bot-activity-{len(self.sent)}"})


async def post(client: TestClient, activity: dict[str, Any], **headers: str) -> int:
    response = await client.post("/api/messages", json=activity, headers=headers)
    return response.status


class FakeEnquiryForm:
    """A stand-in form for the plumbing tests (the real enquiry form comes with the enquiry flow)."""

    name = "enquiry"
    open_label = "Open form"
    submit_label = "Send"
    fields = (
        FormField("email", "Your school email", error="Enter your email address", style="email"),
        FormField(
            "role",
            "Your role",
            error="Choose your role",
            choices=(Choice("Teacher", "teacher"), Choice("Head of maths", "hod")),
        ),
        FormField("question", "Your question", error="Type your question", multiline=True, max_length=2000),
    )

    def __init__(self) -> None:
        self.submitted: list[tuple[ConversationKey, dict[str, str]]] = []

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        problems = {}
        if not values.get("email", "").endswith(".sch.uk"):
            problems["email"] = "Use your school email (ending .sch.uk)"
        if not values.get("question", "").strip():
            problems["question"] = "Type your question"
        return problems

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        self.submitted.append((key, dict(values)))
        return [Reply("Thanks, your question has gone to your Maths Hub.")]
