"""The enquiry form end to end in Teams: the "Open form" card, inline messages, the ticket's reference."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import SERVICES
from bot.store.tickets import TicketStore
from tests.adapters.teams.conftest import AppFactory
from tests.adapters.teams.rig import MockConnector, load_activity, post
from tests.enquiry_fixtures import make_enquiry_knowledge_dir

REFERENCE = re.compile(r"LLME-\d{4}-\d{6}")
VALID = {
    "consent": "yes",
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "role": "0",
    "school": "900001",
    "programme": "none",
    "question": "Can two teachers from one department both apply?",
}


async def send(client: TestClient, connector: MockConnector, fixture: str, /, **changes: Any) -> int:
    return await post(client, load_activity(fixture, connector.url, **changes))


async def test_enquiry_form_card_checks_and_sends(
    make_client: AppFactory, connector: MockConnector, tmp_path: Path, small_knowledge_dir: Path
) -> None:
    (tmp_path / "k").mkdir()
    client = await make_client(
        knowledge_dir=make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path / "k"), run_worker_in_web=False
    )

    # the enquiry's first reply offers the form: an Action.ShowCard holding the inputs
    assert await send(client, connector, "personal_message", text="I'd like to talk to someone") == 200
    cards = [s.card for s in connector.sent if s.card]
    [show] = [a for card in cards for a in card.get("actions", []) if a["type"] == "Action.ShowCard"]
    assert show["title"] == "Open form"
    inputs = {b["id"]: b for b in show["card"]["body"] if b["type"].startswith("Input.")}
    assert {name: b["type"] for name, b in inputs.items()} == {
        "consent": "Input.Toggle",
        "name": "Input.Text",
        "email": "Input.Text",
        "role": "Input.ChoiceSet",
        "school": "Input.Text",
        "programme": "Input.ChoiceSet",
        "question": "Input.Text",
    }
    assert all(b["isRequired"] and b["errorMessage"] for b in inputs.values())
    assert inputs["consent"]["valueOn"] == "yes" and inputs["name"]["maxLength"] == 100
    connector.sent.clear()

    # an invalid submit comes back as the form, filled in, with the messages under the fields
    bad = {**VALID, "email": "ada@example", "question": "x" * 2001}
    assert await send(client, connector, "card_submit", value={"action": "card-form:enquiry", **bad}) == 200
    [again] = connector.sent
    assert again.card is not None
    body = again.card["body"]
    email_at = next(i for i, b in enumerate(body) if b.get("id") == "email")
    assert body[email_at]["value"] == "ada@example"
    assert body[email_at + 1]["color"] == "Attention" and "email address" in body[email_at + 1]["text"]
    assert any("limit is 2000" in b.get("text", "") for b in body if b.get("color") == "Attention")
    tickets = TicketStore(client.app[SERVICES].store)
    assert await tickets.list_tickets() == []
    connector.sent.clear()

    # a valid submit: the ticket, and its reference in the confirmation
    assert await send(client, connector, "card_submit", value={"action": "card-form:enquiry", **VALID}) == 200
    [thanks] = connector.sent
    found = REFERENCE.search(thanks.card_text)
    assert found, thanks.card_text
    [(ticket, _)] = await tickets.list_tickets()
    assert ticket.reference == found.group(0) and ticket.platform == "teams"
    assert ticket.email == "ada@example.org" and ticket.manual_routing is False
