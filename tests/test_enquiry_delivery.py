"""Enquiries that really arrive: the embedded default (a local mailbox of .eml files), the truth told to
the teacher about their ticket, operators alerted about a dead letter, and every ordinary way of asking
to be put in touch. Everything runs through the same wiring the server uses (build_services)."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import io
import logging
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from bot.app import Services, build_services
from bot.cli import main
from bot.clock import ManualClock
from bot.outbox import OutboxWorker, build_worker
from bot.settings import HubRoute, Settings
from bot.state import ConversationState
from bot.store.tickets import TicketStore
from tests.conftest import T0
from tests.enquiry_fixtures import SUSSEX_EMAIL, make_enquiry_knowledge_dir
from tests.helpers import Conversation
from tests.local_smtp import free_port
from tests.test_enquiry import reference_in, to_school_step, to_summary


@pytest.fixture(scope="module")
def enquiry_dir(small_knowledge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path_factory.mktemp("k"))


def settings_for(tmp_path: Path, enquiry_dir: Path, **extra: Any) -> Settings:
    """The quick start's settings: nothing about delivery unless a test adds it."""
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=enquiry_dir,
        enquiry_mailbox_dir=tmp_path / "inbox",
        **extra,
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: ManualClock) -> AsyncIterator[tuple[Services, OutboxWorker]]:
    services = build_services(settings, clock=clock)
    await services.store.open()
    worker = build_worker(
        settings,
        TicketStore(services.store),
        lambda: services.engine.knowledge,
        count_dead_letter=services.metrics.dead_letters.inc,
    )
    try:
        yield services, worker
    finally:
        await worker.close()
        await services.store.close()


async def confirmed_enquiry(services: Services) -> tuple[Conversation, str]:
    chat = Conversation(services.engine)
    await to_summary(chat)
    await chat.press("flow:enquiry:confirm")
    return chat, reference_in(chat)


async def status_of(chat: Conversation, reference: str) -> tuple[str, str]:
    await chat.say(f"what's the status of {reference}?")
    reply = chat.last[0]
    return str(reply.data.get("status")), reply.text


def cli(settings: Settings, clock: ManualClock, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--database-url", settings.database_url, *args], clock=clock)
    return code, out.getvalue()


def read_eml(path: Path) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


# -- the embedded default -------------------------------------------------------------------------


async def test_with_no_delivery_settings_an_enquiry_is_delivered_to_the_local_mailbox(
    tmp_path: Path, enquiry_dir: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, enquiry_dir)
    async with running(settings, clock) as (services, worker):
        chat, reference = await confirmed_enquiry(services)
        assert await worker.run_once() == 1
        status, _ = await status_of(chat, reference)
    assert status == "delivered"

    [path] = (tmp_path / "inbox").glob("*.eml")
    message = read_eml(path)
    assert message["X-Enquiry-Reference"] == reference and reference in str(message["Subject"])
    assert message["Reply-To"] == "ada@example.org"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and "Can two teachers from one department both apply?" in plain.get_content()

    code, shown = await asyncio.to_thread(cli, settings, clock, "tickets", "show", reference)
    assert code == 0
    assert "delivered" in shown and "web:user-1" in shown  # the id `erase --user` takes
    monkeypatch.setenv("ENQUIRY_MAILBOX_DIR", str(tmp_path / "inbox"))
    code, listing = await asyncio.to_thread(cli, settings, clock, "tickets", "inbox")
    assert code == 0 and reference in listing
    code, opened = await asyncio.to_thread(cli, settings, clock, "tickets", "inbox", reference.lower())
    assert code == 0 and "Can two teachers from one department both apply?" in opened


async def test_a_retry_of_a_delivered_ticket_replaces_its_file_rather_than_adding_one(
    tmp_path: Path, enquiry_dir: Path, clock: ManualClock
) -> None:
    settings = settings_for(tmp_path, enquiry_dir)
    async with running(settings, clock) as (services, worker):
        _, reference = await confirmed_enquiry(services)
        assert await worker.run_once() == 1
        assert await TicketStore(services.store).retry(reference) == 0  # nothing dead or waiting
        found = await TicketStore(services.store).get(reference)
    assert found is not None and [j.channel for j in found[1]] == ["mailbox"]
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == [f"{reference}.eml"]


# -- the truth to the teacher, and the operators told -----------------------------------------------


async def test_a_failing_route_is_reported_as_retrying_then_failed_and_operators_are_alerted(
    tmp_path: Path, enquiry_dir: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(
        tmp_path,
        enquiry_dir,
        hub_routes={"sussex": HubRoute(email=SUSSEX_EMAIL)},
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nobody listening: every attempt fails
        smtp_timeout_seconds=2,
        outbox_max_attempts=2,
    )
    async with running(settings, clock) as (services, worker):
        chat, reference = await confirmed_enquiry(services)
        assert (await status_of(chat, reference))[0] == "pending"

        assert await worker.run_once() == 1
        assert (await status_of(chat, reference))[0] == "retrying"

        clock.advance(hours=2)
        with caplog.at_level(logging.ERROR):
            assert await worker.run_once() == 1
        status, text = await status_of(chat, reference)
        dead_letters = services.metrics.dead_letters._value.get()

    assert status == "failed"
    assert services.engine.knowledge.texts.hub_contact in text  # how to reach the hub meanwhile
    alerts = [r for r in caplog.records if r.getMessage() == "enquiry_dead_lettered"]
    assert [(r.levelno, r.reference) for r in alerts] == [(logging.ERROR, reference)]  # type: ignore[attr-defined]
    assert dead_letters == 1
    alert = read_eml(tmp_path / "inbox" / f"ALERT-{reference}.eml")
    assert reference in str(alert["Subject"])
    body = alert.get_body(preferencelist=("plain",))
    assert body is not None and "ada@example.org" not in body.get_content()  # no personal data


# -- every way of asking to be put in touch ---------------------------------------------------------


@pytest.fixture
async def services(tmp_path: Path, enquiry_dir: Path, clock: ManualClock) -> AsyncIterator[Services]:
    async with running(settings_for(tmp_path, enquiry_dir), clock) as (services, _):
        yield services


@pytest.mark.parametrize(
    "message",
    [
        "I want to make an LLME enquiry",
        "can someone from the hub contact me?",
        "please pass my question on",
        "pls pass my qustion on",
        "can sum1 from the hub contct me",
        "could you put me in touch with my hub please",
    ],
)
async def test_asking_to_be_put_in_touch_starts_the_enquiry(services: Services, message: str) -> None:
    chat = Conversation(services.engine)
    await chat.say(message)
    assert "flow:enquiry:consent:yes" in chat.choice_values(), chat.text()


@pytest.mark.parametrize(
    "message",
    [
        "I'd like to discuss the specialist programme with your team",
        "how do I get in touch with my local maths hub",
        "I'd like to talk to someone at my maths hub",
        "is there an enquiry form?",
    ],
)
async def test_asking_how_to_reach_a_hub_starts_the_enquiry_or_answers_with_it_one_tap_away(
    services: Services, message: str
) -> None:
    chat = Conversation(services.engine)
    await chat.say(message)
    if "flow:enquiry:consent:yes" in chat.choice_values():
        return  # the FAQ was not sure: straight into the enquiry
    answered = chat.answered()
    assert answered is not None, chat.text()
    assert services.engine.knowledge.faq_by_id[answered].topic == "contact"
    assert "menu:contact" in chat.choice_values()
    await chat.press("menu:contact")
    assert "flow:enquiry:consent:yes" in chat.choice_values()


@pytest.mark.parametrize("message", ["what does LLME stand for?", "is the work group free?", "hello"])
async def test_questions_about_enquiries_are_not_taken_for_a_request(
    services: Services, message: str
) -> None:
    chat = Conversation(services.engine)
    await chat.say(message)
    assert "flow:enquiry:consent:yes" not in chat.choice_values()


async def saved_draft(services: Services, chat: Conversation) -> dict[str, object]:
    async with services.store.conversation(chat.key) as slot:
        state = ConversationState.model_validate(slot.state)
    assert state.flow is not None and state.flow.name == "enquiry"
    return state.flow.data


async def test_the_question_asked_before_is_carried_into_the_enquiry(services: Services) -> None:
    chat = Conversation(services.engine)
    await chat.say("Do you sell calculators for year 7?")
    await chat.say("please pass my question on")
    assert (await saved_draft(services, chat))["suggested_question"] == "Do you sell calculators for year 7?"


async def test_a_request_that_says_what_it_is_about_carries_itself_and_its_programme(
    services: Services,
) -> None:
    chat = Conversation(services.engine)
    message = "could someone from the hub contact me about the specialist programme and our timetable"
    await chat.say(message)
    draft = await saved_draft(services, chat)
    assert draft["suggested_question"] == message
    assert draft["suggested_programme"] == "specialist-programme"


# -- operators ----------------------------------------------------------------------------------------


def test_an_operator_command_never_creates_an_empty_database(tmp_path: Path, enquiry_dir: Path) -> None:
    settings = settings_for(tmp_path / "elsewhere", enquiry_dir)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, _ = cli(settings, ManualClock(T0), "tickets", "list")
    assert code == 1
    assert not (tmp_path / "elsewhere" / "bot.db").exists()
    assert str(tmp_path / "elsewhere" / "bot.db") in err.getvalue()  # says which database it looked for


async def test_unanswered_truncates_long_questions(
    tmp_path: Path, enquiry_dir: Path, clock: ManualClock
) -> None:
    settings = settings_for(tmp_path, enquiry_dir)
    long_question = "could you tell me about pencils " * 20
    async with running(settings, clock) as (services, _):
        await Conversation(services.engine).say(long_question)
    code, listing = await asyncio.to_thread(cli, settings, clock, "unanswered")
    [line] = [line for line in listing.splitlines() if "pencils" in line]
    assert code == 0 and line.endswith("…") and len(line) < len(long_question)


def test_settings_resolve_the_database_and_mailbox_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'mastery.db'}"
    assert settings.enquiry_mailbox_dir == tmp_path.resolve() / "enquiries"


async def test_an_answer_about_contacting_a_hub_offers_to_pass_a_question_on(services: Services) -> None:
    chat = Conversation(services.engine)
    await chat.say("how do I find my maths hub")
    assert chat.answered() is not None
    entry = services.engine.knowledge.faq_by_id[chat.answered() or ""]
    assert entry.topic == "contact"
    assert "menu:contact" in chat.choice_values()
    await chat.press("menu:contact")
    assert "flow:enquiry:consent:yes" in chat.choice_values()
    assert "suggested_question" not in await saved_draft(services, chat)  # not "how do I find my hub"


# -- the school, typed as people type it ----------------------------------------------------------------


async def test_a_school_typed_with_its_area_is_found(services: Services) -> None:
    chat = Conversation(services.engine)
    await to_school_step(chat)
    await chat.say("Downland Test Academy in West Sussex")
    assert chat.choice_values()[0] == "flow:enquiry:school:900001"


async def test_a_second_attempt_at_the_school_is_looked_up_too(services: Services) -> None:
    chat = Conversation(services.engine)
    await to_school_step(chat)
    await chat.say("Dwnlnd Tst")  # nothing close: asked to type it again
    assert not any(v.startswith("flow:enquiry:school:9") for v in chat.choice_values())
    await chat.say("Downland Test Academy")
    assert chat.choice_values()[0] == "flow:enquiry:school:900001"
    await chat.press("flow:enquiry:school:900001")
    assert (await saved_draft(services, chat))["school"] == {
        "urn": "900001",
        "name": "Downland Test Academy",
        "local_authority": "West Sussex",
        "postcode": "RH15 9ZZ",
    }
