"""The enquiry form end to end in Slack: "Open form" → views.open → view_submission → ticket + reply."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.slack.app import SlackFrontEnd
from bot.app import SERVICES
from bot.settings import Settings
from bot.store.tickets import TicketStore
from tests.adapters.slack.blockkit import check_blocks
from tests.adapters.slack.conftest import post
from tests.adapters.slack.mock_slack import BOT_TOKEN, SIGNING_SECRET, MockSlack, load
from tests.enquiry_fixtures import make_enquiry_knowledge_dir

REFERENCE = re.compile(r"LLME-\d{4}-\d{6}")


@pytest.fixture
def slack_settings(tmp_path: Path, small_knowledge_dir: Path, mock_slack: MockSlack) -> Settings:
    """The conftest's settings, with a knowledge set that has the enquiry (so the form is registered)."""
    (tmp_path / "k").mkdir()
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
        knowledge_dir=make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path / "k"),
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=mock_slack.api_url,
        run_worker_in_web=False,
    )


def open_form_payload() -> dict[str, Any]:
    payload: dict[str, Any] = load("block_actions_open_form.json")
    for button in (payload["actions"][0], payload["message"]["blocks"][1]["elements"][0]):
        button["action_id"], button["value"] = "form-enquiry", "enquiry"
    return payload


def submission(**changes: str) -> dict[str, Any]:
    """A view_submission of the enquiry modal, as Slack sends one (values by block id)."""
    values = {
        "consent": "yes",
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "role": "1",
        "school": "900001",
        "programme": "none",
        "question": "Can two teachers <b>both</b> apply?",
        **changes,
    }
    state: dict[str, Any] = {}
    for name, value in values.items():
        if name == "consent":
            picked = [{"text": {"type": "plain_text", "text": "Yes"}, "value": value}] if value else []
            state[name] = {"value": {"type": "checkboxes", "selected_options": picked}}
        elif name in ("role", "programme"):
            state[name] = {"value": {"type": "static_select", "selected_option": {"value": value}}}
        else:
            state[name] = {"value": {"type": "plain_text_input", "value": value}}
    payload: dict[str, Any] = load("view_submission.json")
    view = payload["view"]
    view["callback_id"] = "mastery-form-enquiry"
    view["private_metadata"] = view["private_metadata"].replace("test-form", "enquiry")
    view["state"] = {"values": state}
    return payload


async def test_enquiry_form_opens_checks_and_sends(
    client: TestClient, front: SlackFrontEnd, mock_slack: MockSlack
) -> None:
    assert "enquiry" in front.forms

    await post(client, open_form_payload())
    await front.drain()
    assert mock_slack.methods() == ["views.open"]
    view = mock_slack.called("views.open")[0].args["view"]
    assert view["callback_id"] == "mastery-form-enquiry"
    check_blocks(view["blocks"], max_blocks=100)
    elements = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert elements == {
        "consent": "checkboxes",
        "name": "plain_text_input",
        "email": "plain_text_input",
        "role": "static_select",
        "school": "plain_text_input",
        "programme": "static_select",
        "question": "plain_text_input",
    }
    assert len(view["title"]["text"]) <= 24

    response = await post(client, submission(email="ada@example", consent=""))
    body = await response.json()
    assert body["response_action"] == "errors"
    assert sorted(body["errors"]) == ["consent", "email"]
    assert "email address" in body["errors"]["email"]
    tickets = TicketStore(client.app[SERVICES].store)
    assert await tickets.list_tickets() == []

    response = await post(client, submission())
    assert response.status == 200 and await response.text() == ""
    await front.drain()
    [call] = mock_slack.called("chat.postMessage")
    assert (call.args["channel"], call.args["thread_ts"]) == ("C123ABC456", "1515449522.000016")
    text = "\n".join(b["text"]["text"] for b in call.args["blocks"] if b["type"] == "section")
    found = REFERENCE.search(text)
    assert found, text
    [(ticket, _)] = await tickets.list_tickets()
    assert ticket.reference == found.group(0)
    assert ticket.platform == "slack" and ticket.question == "Can two teachers <b>both</b> apply?"
    assert ticket.role == "Head of maths department"
