"""POST real Teams activities to /api/messages (local mode) and check what reaches the Bot Connector."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.teams.app import BotFrameworkConfig, TeamsConfigError
from bot.app import SERVICES, Services
from bot.messages import ConversationKey
from bot.settings import Settings
from tests.adapters.teams.conftest import AppFactory
from tests.adapters.teams.rig import FakeEnquiryForm, MockConnector, load_activity, post

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def services_of(client: TestClient) -> Services:
    assert client.app is not None
    services: Services = client.app[SERVICES]
    return services


async def send(client: TestClient, connector: MockConnector, fixture: str, /, **changes: Any) -> int:
    return await post(client, load_activity(fixture, connector.url, **changes))


async def test_personal_question_gets_an_answer_card_in_reply(
    client: TestClient, connector: MockConnector
) -> None:
    activity = load_activity("personal_message", connector.url)
    assert await post(client, activity) == 200
    [sent] = connector.sent
    assert sent.conversation_id == activity["conversation"]["id"]
    assert sent.reply_to_id == activity["id"]
    assert sent.authorization is None  # local mode: no credentials on outgoing calls
    assert sent.activity["type"] == "message"
    assert sent.activity["replyToId"] == activity["id"]
    assert sent.activity["from"]["id"] == activity["recipient"]["id"]
    assert sent.card is not None and sent.card["version"] == "1.5"
    assert "free" in sent.card_text
    assert "](https://" in sent.card_text  # the source link
    assert sent.action_values == ["feedback:up:dwg-cost", "feedback:down:dwg-cost"]
    assert "free" in sent.activity["summary"]


async def test_channel_mention_is_answered_in_the_thread(
    client: TestClient, connector: MockConnector
) -> None:
    activity = load_activity("channel_mention", connector.url)
    assert await post(client, activity) == 200
    [sent] = connector.sent
    assert sent.conversation_id == "19:aebd0ad4d6ab42c8b9ed19c251c2fc37@thread.skype;messageid=1481567603816"
    assert sent.reply_to_id == "1481567603816"
    assert "free" in sent.card_text


async def test_group_chat_mention_is_answered(client: TestClient, connector: MockConnector) -> None:
    assert await send(client, connector, "group_chat_mention") == 200
    [sent] = connector.sent
    assert sent.card is not None
    assert sent.action_values[:1] == ["feedback:up:specialist-time"]


async def test_channel_chatter_without_mention_gets_no_reply(
    client: TestClient, connector: MockConnector
) -> None:
    assert await send(client, connector, "channel_without_mention") == 200
    assert connector.sent == []


async def test_button_press_reaches_the_engine_as_its_value(
    client: TestClient, connector: MockConnector
) -> None:
    assert await send(client, connector, "personal_message", text="is it free?") == 200
    [question] = connector.sent
    assert "faq:dwg-cost" in question.action_values  # a "did you mean" card
    assert await send(client, connector, "card_submit") == 200
    answer = connector.sent[-1]
    assert answer.reply_to_id == "1704067260123"
    assert "free" in answer.card_text
    assert answer.action_values == ["feedback:up:dwg-cost", "feedback:down:dwg-cost"]


async def test_feedback_buttons_are_recorded(client: TestClient, connector: MockConnector) -> None:
    assert await send(client, connector, "personal_message") == 200
    assert await send(client, connector, "card_submit", value={"action": "feedback:down:dwg-cost"}) == 200
    assert "noted" in connector.sent[-1].card_text
    services = services_of(client)
    [summary] = await services.store.feedback()
    assert (summary.faq_id, summary.helpful, summary.not_helpful) == ("dwg-cost", 0, 1)


async def test_bot_added_to_personal_chat_sends_one_welcome_with_the_menu(
    client: TestClient, connector: MockConnector
) -> None:
    activity = load_activity("conversation_update_personal_install", connector.url)
    assert await post(client, activity) == 200
    [welcome] = connector.sent  # one welcome, although the user was added too
    assert welcome.conversation_id == activity["conversation"]["id"]
    assert welcome.reply_to_id is None
    assert "Hello" in welcome.card_text
    assert welcome.action_values == ["menu:fit", "menu:contact", "menu:help"]
    # Teams may deliver the update again (retry, reinstall): still one welcome.
    assert await post(client, activity) == 200
    assert len(connector.sent) == 1


async def test_bot_added_to_a_team_welcomes_the_channel(client: TestClient, connector: MockConnector) -> None:
    assert await send(client, connector, "conversation_update_team_install") == 200
    [welcome] = connector.sent
    assert welcome.conversation_id == "19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2"
    assert "menu:help" in welcome.action_values


async def test_no_welcome_after_the_conversation_has_started(
    client: TestClient, connector: MockConnector
) -> None:
    update = load_activity("conversation_update_personal_install", connector.url)
    message = load_activity("personal_message", connector.url, conversation=update["conversation"])
    assert await post(client, message) == 200
    assert await post(client, update) == 200
    assert len(connector.sent) == 1


@pytest.mark.parametrize(
    "name", ["conversation_update_user_added", "installation_update", "message_reaction", "typing"]
)
async def test_events_that_need_no_reply(client: TestClient, connector: MockConnector, name: str) -> None:
    assert await send(client, connector, name) == 200
    assert connector.sent == []


async def test_edits_are_ignored(client: TestClient, connector: MockConnector) -> None:
    assert await send(client, connector, "message_update_edit") == 200
    assert connector.sent == []


async def test_invoke_is_acknowledged(client: TestClient, connector: MockConnector) -> None:
    activity = load_activity("personal_message", connector.url, type="invoke", name="adaptiveCard/action")
    response = await client.post("/api/messages", json=activity)
    assert response.status == 200
    assert connector.sent == []


async def test_emulator_conversation(client: TestClient, connector: MockConnector) -> None:
    assert await send(client, connector, "emulator_conversation_update") == 200
    assert await send(client, connector, "emulator_message") == 200
    welcome, answer = connector.sent
    assert (
        welcome.conversation_id == answer.conversation_id == "9f0c1d2e-3a4b-11ef-8c5d-6e7f8a9b0c1d|livechat"
    )
    assert "free" in answer.card_text


async def test_state_is_kept_per_tenant_user_and_thread(client: TestClient, connector: MockConnector) -> None:
    thread = load_activity("channel_mention", connector.url)
    assert await post(client, thread) == 200
    # A follow-up in the same thread uses the programme discussed there ("it" = the DWG).
    follow_up = dict(thread, id="1481567609999", text="<at>Mastery Assistant</at> how long does it take?")
    assert await post(client, follow_up) == 200
    assert "feedback:up:dwg-time" in connector.sent[-1].action_values
    services = services_of(client)
    key = ConversationKey(
        "teams", TENANT, "c33aafc4-646d-4543-9d4c-abd28e4d2110", thread["conversation"]["id"]
    )
    async with services.store.conversation(key) as slot:
        assert slot.state is not None and slot.state["last_faq"] == "dwg-time"


async def test_html_in_the_question_never_formats_the_card(
    client: TestClient, connector: MockConnector
) -> None:
    assert await send(client, connector, "personal_message", text="**hi** [x](javascript:alert(1))") == 200
    for sent in connector.sent:
        assert "javascript:" not in str(sent.card)


async def test_connector_failure_gets_a_friendly_message_and_no_stack_trace(
    client: TestClient, connector: MockConnector, caplog: pytest.LogCaptureFixture
) -> None:
    connector.fail_next = 1
    with caplog.at_level(logging.ERROR, logger="adapters.teams.app"):
        assert await send(client, connector, "personal_message") == 200
    [sorry] = connector.sent
    assert sorry.activity["text"].startswith("Sorry, something went wrong")
    assert "Traceback" not in sorry.activity["text"]
    assert any(r.getMessage() == "teams_turn_failed" for r in caplog.records)
    assert all("Is the DWG free" not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"text": "hi"}', "application/json", 400),
        (b'{"type": "message", "text": "hi"}', "application/json", 400),
        (b"type=message", "application/x-www-form-urlencoded", 415),
    ],
)
async def test_bad_requests(client: TestClient, body: bytes, content_type: str, status: int) -> None:
    response = await client.post("/api/messages", data=body, headers={"Content-Type": content_type})
    assert response.status == status
    assert "Traceback" not in await response.text()


async def test_local_mode_only_replies_to_this_machine(
    client: TestClient, connector: MockConnector, caplog: pytest.LogCaptureFixture
) -> None:
    activity = load_activity("personal_message", "https://smba.trafficmanager.net/amer/")
    with caplog.at_level(logging.WARNING, logger="adapters.teams.app"):
        response = await client.post("/api/messages", json=activity)
    assert response.status == 200
    assert any(r.getMessage() == "teams_reply_blocked" for r in caplog.records)
    assert connector.sent == []


@pytest.mark.parametrize(
    "fixture", ["message_reaction", "installation_update", "conversation_update_user_added", "typing"]
)
async def test_recorded_events_as_teams_sent_them_are_accepted(client: TestClient, fixture: str) -> None:
    """Events that need no reply are fine even with Teams' own serviceUrl (nothing is sent anywhere)."""
    assert await post(client, load_activity(fixture)) == 200


async def test_local_mode_is_logged_clearly(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="adapters.teams.app"):
        await make_client()
    [record] = [r for r in caplog.records if r.getMessage() == "teams_local_mode"]
    assert record.levelno == logging.WARNING
    assert "NOT authenticated" in record.reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"microsoft_app_type": "Bogus"}, "MICROSOFT_APP_TYPE"),
        ({"microsoft_app_id": "app", "microsoft_app_password": None}, "MICROSOFT_APP_PASSWORD"),
        (
            {"microsoft_app_id": "app", "microsoft_app_password": "p", "microsoft_app_type": "SingleTenant"},
            "TENANT",
        ),
        ({"microsoft_app_id": "app", "microsoft_app_type": "UserAssignedMSI"}, "TENANT"),
    ],
)
def test_incomplete_configuration_fails_at_start(overrides: dict[str, Any], problem: str) -> None:
    values: dict[str, Any] = {"microsoft_app_id": None, "microsoft_app_password": None, **overrides}
    with pytest.raises(TeamsConfigError, match=problem):
        BotFrameworkConfig.from_settings(Settings(**values))


def test_configuration_values() -> None:
    local = BotFrameworkConfig.from_settings(Settings(microsoft_app_id="", microsoft_app_type="SingleTenant"))
    assert not local.auth_enabled and local.APP_TYPE == "MultiTenant"
    single = BotFrameworkConfig.from_settings(
        Settings(
            microsoft_app_id="id",
            microsoft_app_password="pw",
            microsoft_app_type="singletenant",
            microsoft_app_tenant_id="tenant",
        )
    )
    assert (single.APP_ID, single.APP_PASSWORD, single.APP_TYPE, single.APP_TENANTID) == (
        "id",
        "pw",
        "SingleTenant",
        "tenant",
    )
    msi = BotFrameworkConfig.from_settings(
        Settings(microsoft_app_id="id", microsoft_app_type="UserAssignedMSI", microsoft_app_tenant_id="t")
    )
    assert msi.auth_enabled and msi.APP_PASSWORD is None


@pytest.fixture
async def form_client(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[TestClient, FakeEnquiryForm]:
    form = FakeEnquiryForm()
    monkeypatch.setattr("adapters.teams.app.build_forms", lambda services: {form.name: form})
    return await make_client(), form


async def test_valid_form_goes_to_the_form(
    form_client: tuple[TestClient, FakeEnquiryForm],
    connector: MockConnector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, form = form_client
    values = {"email": "ada@school.sch.uk", "role": "hod", "question": "Can two of us join?"}
    with caplog.at_level(logging.DEBUG):
        status = await send(client, connector, "card_submit", value={"action": "card-form:enquiry", **values})
    assert status == 200
    [(key, submitted)] = form.submitted
    assert submitted == values
    assert key.user_id == "7faf8ab2-3d56-4244-b585-20c8a42ed2b8"
    [thanks] = connector.sent
    assert "Maths Hub" in thanks.card_text
    assert all("ada@school" not in r.getMessage() + str(r.__dict__) for r in caplog.records)


async def test_invalid_form_comes_back_with_messages_under_the_fields(
    form_client: tuple[TestClient, FakeEnquiryForm], connector: MockConnector
) -> None:
    client, form = form_client
    values = {"action": "card-form:enquiry", "email": "ada@gmail.com", "role": "teacher", "question": "Hi"}
    assert await send(client, connector, "card_submit", value=values) == 200
    assert form.submitted == []
    [again] = connector.sent
    assert again.card is not None
    body = again.card["body"]
    assert body[0]["id"] == "email" and body[0]["value"] == "ada@gmail.com"
    assert body[1]["color"] == "Attention" and "school email" in body[1]["text"]


async def test_submission_of_an_unknown_form_is_an_expired_button(
    client: TestClient, connector: MockConnector
) -> None:
    assert (
        await send(client, connector, "card_submit", value={"action": "card-form:enquiry", "x": "y"}) == 200
    )
    [reply] = connector.sent
    assert "no longer active" in reply.card_text


async def test_press_on_a_foreign_card_gets_a_polite_answer(
    client: TestClient, connector: MockConnector
) -> None:
    assert await send(client, connector, "card_submit", value={"choice": "2"}) == 200
    [reply] = connector.sent
    assert "no longer active" in reply.card_text
    assert "menu:help" in reply.action_values
