"""The "Which programme fits me?" interview, as conversation scripts through the engine and as the pure
state machine, on the real knowledge (interview.yaml, eligibility.yaml) with a fixed date."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine import Engine
from bot.interview import (
    ACTION_PREFIX,
    InterviewContext,
    InterviewFlow,
    InterviewState,
    Pressed,
    Turn,
    Typed,
    advance,
    begin,
    details,
    idle_status,
    match_answer,
    value_token,
)
from bot.normalise import Normaliser
from bot.settings import Settings
from bot.state import ConversationState, FlowState
from bot.store.sql import SqlStore
from knowledge.interview_models import AnswerValue, InterviewQuestion
from knowledge.loader import DATA_DIR, Knowledge, check_knowledge
from tests.helpers import Conversation

TODAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def shared_engine(knowledge: Knowledge) -> Engine:
    # Building the FAQ matcher for the real knowledge takes a second or two: build it once per module.
    return Engine(knowledge, SqlStore("sqlite+aiosqlite://"), flows=[InterviewFlow()])


@pytest.fixture
def engine(shared_engine: Engine, memory_store: SqlStore) -> Engine:
    engine = copy.copy(shared_engine)
    engine.store = memory_store
    return engine


@pytest.fixture(scope="module")
def ictx(knowledge: Knowledge) -> InterviewContext:
    ctx = InterviewContext.of(knowledge, TODAY, Normaliser(knowledge.lexicon).normalise)
    assert ctx is not None
    return ctx


def answer(question: str, value: str) -> str:
    return f"{ACTION_PREFIX}answer:{question}:{value}"


async def saved(store: SqlStore, chat: Conversation) -> ConversationState:
    async with store.conversation(chat.key) as slot:
        assert slot.state is not None
        return ConversationState.model_validate(slot.state)


async def age_interview(store: SqlStore, chat: Conversation, by: dt.timedelta) -> None:
    """Pretend the user went away: move the interview's last activity back in time."""
    async with store.conversation(chat.key) as slot:
        assert slot.state is not None
        state = ConversationState.model_validate(slot.state)
        assert state.flow is not None
        state.flow.updated_at -= by
        slot.save(state.model_dump(mode="json"))


def result(chat: Conversation) -> dict[str, str]:
    """The recommendation's machine-readable part: headline, eligible and possible programme ids."""
    found = next((r.data for r in chat.last if "eligible" in r.data), None)
    assert found is not None, chat.text()
    return found


def fits(chat: Conversation) -> list[str]:
    return [p for p in result(chat)["eligible"].split(",") if p]


def possible(chat: Conversation) -> list[str]:
    return [p for p in result(chat)["possible"].split(",") if p]


async def show_details(chat: Conversation) -> str:
    """Press "why, and the other programmes" and return what it shows."""
    value = next(v for v in chat.choice_values() if v.startswith(f"{ACTION_PREFIX}details:"))
    await chat.press(value)
    return chat.text()


def asked(chat: Conversation) -> str | None:
    """The question id the last replies ask, from its buttons."""
    for value in chat.choice_values():
        if value.startswith(f"{ACTION_PREFIX}answer:"):
            return value.split(":")[3]
    return None


# -- whole conversations -----------------------------------------------------------------------


async def test_starts_from_a_phrase_or_the_menu_button(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("Which programme is right for me?")
    assert "a few short questions" in chat.text()
    assert asked(chat) == "phase"
    other = Conversation(engine)
    await other.press("menu:fit")
    assert asked(other) == "phase"


async def test_experienced_secondary_teacher_with_buttons(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    for question, value in [
        ("phase", "secondary"),
        ("country", "england"),
        ("school_funding", "state"),
        ("role", "classroom-teacher"),
        ("ect", "false"),
        ("dwg_last_year", "false"),
    ]:
        assert asked(chat) == question
        await chat.press(answer(question, value))
    assert asked(chat) == "specialist_already"
    await chat.press(answer("specialist_already", "false"))
    text = chat.text()
    assert "a secondary school, in England, state-funded, a classroom teacher" in text
    assert fits(chat)[:2] == ["development-work-group", "specialist-programme"]
    assert "Next step:" in text and "maths-hubs" in text
    assert chat.choice_values()[1:] == ["menu:contact", "menu:fit", "menu:ask"]
    assert (await saved(memory_store, chat)).flow is None
    text = await show_details(chat)
    fitting = text.split("Programmes that fit you:")[1].split("Programmes that don't fit")[0]
    assert "Development Work Group:" in fitting and "Mastery Specialist Programme:" in fitting
    assert "Next step:" in fitting
    assert "Embedding Year Support: It is for departments that took part" in text
    # Dated remarks are said once, not under every programme.
    assert text.count("closed at midnight on 28 April 2025") == 1 and text.count("2023/24") == 1


async def test_early_career_teacher_in_free_text(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("which programme fits me")
    await chat.say("Y7-11")
    await chat.say("England")
    await chat.say("an academy")
    await chat.say("I'm an NQT")  # answers the role question and the ECT question at once
    assert asked(chat) == "dwg_last_year"
    await chat.say("nope")
    text = chat.text()
    assert "an early career teacher" in text
    assert fits(chat) == ["development-work-group"]
    text = await show_details(chat)
    assert "Mastery Specialist Programme: The Specialist Programme doesn't take early career teachers" in text
    assert "As an early career teacher you can be a Mastery Advocate" in text


async def test_head_of_department_whose_department_did_a_dwg(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    for text in ("secondary", "england", "state-funded", "HoD"):
        await chat.say(text)
    assert asked(chat) == "dwg_last_year"  # a head of department is not asked whether they are an ECT
    await chat.say("yes we did")
    assert asked(chat) == "specialist_already"
    await chat.say("no")
    assert fits(chat)[:2] == ["embedding-year-support", "embedding-sustaining-work-group"]
    text = await show_details(chat)
    assert "Development Work Group: Your department took part in a Development Work Group last year" in text


async def test_someone_in_wales(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("we're in Cardiff")
    text = chat.text()
    assert "in Wales" in text and fits(chat) == []
    assert "state-funded schools in England" in text
    assert "maths-hubs" not in text and "menu:contact" not in chat.choice_values()  # no English hubs
    assert "England only" in await show_details(chat)


async def test_independent_school(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("England")
    await chat.say("we're a private school")
    assert "none of the programmes fits" in chat.text() and fits(chat) == []
    assert "independent schools can't take part" in await show_details(chat)


async def test_special_school(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("special school")
    await chat.say("england")
    await chat.say("maintained")
    await chat.say("teacher")
    assert fits(chat) == ["special-schools-work-group"]
    text = await show_details(chat)
    assert (
        "Special Schools Work Group: It brings together primary and secondary special school teachers" in text
    )
    assert "I can't tell from the information I have" in text
    assert "doesn't say whether special schools can join" in text


async def test_sixth_form_college_the_seeds_are_silent(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("sixth-form college")
    await chat.say("England")
    await chat.say("state funded")
    assert "maths-hubs" in chat.text()
    text = await show_details(chat)
    assert "doesn't say whether sixth-form or further education colleges can take part" in text


async def test_not_sure_is_an_answer_that_is_reported_honestly(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    for text in ("secondary", "england", "academy", "deputy head"):
        await chat.say(text)
    assert asked(chat) == "dwg_last_year"
    await chat.say("not sure")
    await chat.say("no")
    # Not sure is unknown, not "no": the specialist route holds either way; the work groups depend on it.
    assert "specialist-programme" in fits(chat)
    assert possible(chat) == [
        "development-work-group",
        "embedding-year-support",
        "embedding-sustaining-work-group",
    ]
    assert "possibly, if your department didn't take part" in chat.text()


async def test_unclear_answers_are_asked_again_with_the_choices(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("banana")
    assert "didn't quite catch" in chat.text()
    assert asked(chat) == "phase"
    assert answer("phase", "secondary") in chat.choice_values()
    await chat.say("primary and secondary")  # two answers: asked again, not guessed
    assert "still not sure" in chat.text()
    assert asked(chat) == "phase"
    await chat.say("2")  # a typed number picks that button
    assert "a primary school" in chat.text()


async def test_back_goes_to_the_previous_question(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("back")
    assert "first question" in chat.text()
    assert asked(chat) == "phase"
    await chat.say("secondary")
    await chat.say("Wales")
    assert fits(chat) == [] and "in Wales" in chat.text()

    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("England")
    assert asked(chat) == "school_funding"
    await chat.say("go back")
    assert asked(chat) == "country"
    flow = (await saved(memory_store, chat)).flow
    assert flow is not None and "country" not in flow.data["answers"]
    await chat.press(f"{ACTION_PREFIX}back")
    assert asked(chat) == "phase"
    await chat.say("secondary")
    assert asked(chat) == "country"


async def test_back_takes_back_everything_said_at_that_question(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    for text in ("secondary", "england", "state"):
        await chat.say(text)
    await chat.say("I'm an NQT")
    assert asked(chat) == "dwg_last_year"
    await chat.say("back")
    assert asked(chat) == "role"
    await chat.say("classroom teacher")
    assert asked(chat) == "ect"  # the ECT answer given with "NQT" went back too


async def test_pressing_an_earlier_questions_button_changes_that_answer(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("England")
    await chat.press(answer("phase", "primary"))
    assert "a primary school" in chat.text() and fits(chat) == []
    assert "Programmes that don't fit" in await show_details(chat)


async def test_a_dead_button_repeats_the_question(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.press(answer("ect", "true"))
    assert "earlier question" in chat.text()
    assert asked(chat) == "phase"


async def test_asking_to_start_the_interview_again_while_in_it(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("which programme fits me")
    assert "already working that out" in chat.text()
    assert asked(chat) == "country"


async def test_restart_cancel_and_help_mid_interview(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("help")
    assert "Here is what I can do" in chat.text()
    assert "back to where we were" in chat.text()
    assert asked(chat) == "country"
    await chat.say("England")
    assert asked(chat) == "school_funding"

    await chat.say("restart")  # restarts the interview, not the whole conversation
    assert asked(chat) == "phase"
    assert "menu:cancel" in chat.choice_values()  # the main menu is one tap away
    flow = (await saved(memory_store, chat)).flow
    assert flow is not None and flow.data["answers"] == {}
    await chat.say("secondary")
    assert asked(chat) == "country"
    await chat.say("cancel")
    assert "stopped" in chat.text()
    assert (await saved(memory_store, chat)).flow is None
    await chat.say("England")  # no longer an interview answer
    assert asked(chat) is None


async def test_faq_question_mid_interview_is_answered_then_it_resumes(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("is the DWG free?")
    assert chat.answered() == "dwg-cost"
    assert "back to where we were" in chat.text()
    assert asked(chat) == "country"
    await chat.say("England")
    assert asked(chat) == "school_funding"
    await chat.say("can ECTs become mastery specialists?")
    assert chat.answered() == "specialist-ect"
    assert asked(chat) == "school_funding"


async def test_resume_offer_after_idle_and_server_restart(
    engine: Engine, knowledge: Knowledge, memory_store: SqlStore
) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")

    # A new engine on the same store (a server restart) carries straight on while the user is active.
    chat.engine = Engine(knowledge, memory_store, flows=[InterviewFlow()])
    await chat.say("England")
    assert asked(chat) == "school_funding"

    await age_interview(memory_store, chat, dt.timedelta(hours=2))
    await chat.say("state")
    assert "Welcome back" in chat.text()
    assert chat.choice_values() == [f"{ACTION_PREFIX}resume", f"{ACTION_PREFIX}restart"]
    await chat.say("carry on")
    assert asked(chat) == "school_funding"  # the answer typed while away was not taken
    await chat.say("state")
    assert asked(chat) == "role"

    await age_interview(memory_store, chat, dt.timedelta(minutes=45))
    await chat.say("teacher")
    assert "Welcome back" in chat.text()
    await chat.press(f"{ACTION_PREFIX}restart")
    assert "start the questions again" in chat.text()
    assert asked(chat) == "phase"


async def test_resume_threshold_is_configurable(knowledge: Knowledge, memory_store: SqlStore) -> None:
    flow = InterviewFlow.from_settings(
        Settings(interview_resume_after_minutes=5, interview_expire_after_hours=1, _env_file=None)
    )
    assert flow.resume_after == dt.timedelta(minutes=5)
    chat = Conversation(Engine(knowledge, memory_store, flows=[flow]))
    await chat.press("menu:fit")
    await age_interview(memory_store, chat, dt.timedelta(minutes=6))
    await chat.say("secondary")
    assert "Welcome back" in chat.text()
    await age_interview(memory_store, chat, dt.timedelta(minutes=61))
    await chat.say("carry on")
    assert "It's been a while" in chat.text()


async def test_expired_interview_closes_politely(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await age_interview(memory_store, chat, dt.timedelta(hours=25))
    await chat.say("England")
    assert "It's been a while" in chat.text()
    assert "menu:fit" in chat.choice_values()
    assert (await saved(memory_store, chat)).flow is None


async def test_unusable_saved_interview_starts_again(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    async with memory_store.conversation(chat.key) as slot:
        assert slot.state is not None
        slot.state["flow"]["data"] = {"version": 99}
        slot.save(slot.state)
    await chat.say("secondary")
    assert "lost track of your answers" in chat.text()
    assert asked(chat) == "phase"


async def test_without_interview_knowledge_it_points_to_the_hub(
    small_knowledge: Knowledge, memory_store: SqlStore
) -> None:
    assert small_knowledge.interview is None
    chat = Conversation(Engine(small_knowledge, memory_store, flows=[InterviewFlow()]))
    await chat.press("menu:fit")
    assert "maths-hubs" in chat.text()


# -- the pure state machine --------------------------------------------------------------------


def question(ictx: InterviewContext, question_id: str) -> InterviewQuestion:
    found = ictx.spec.question(question_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("question_id", "text", "expected"),
    [
        ("phase", "Y7-11", "secondary"),
        ("phase", "years 7 to 13", "secondary"),
        ("phase", "we're an 11-18 comprehensive", "secondary"),
        ("phase", "secondry", "secondary"),
        ("phase", "KS3 and KS4", "secondary"),
        ("phase", "a SEND school", "special"),
        ("phase", "all-through", "all-through"),
        ("phase", "sixth form college", "post-16"),
        ("phase", "infants", "primary"),
        ("country", "we're in Cardiff", "wales"),
        ("country", "Englnd", "england"),
        ("country", "Belfast", "northern-ireland"),
        ("country", "in Leeds", "england"),
        ("school_funding", "an academy", "state"),
        ("school_funding", "part of a multi-academy trust", "state"),
        ("school_funding", "indepedent", "independent"),
        ("school_funding", "not state funded", "independent"),
        ("role", "I'm an NQT", "classroom-teacher"),
        ("role", "head of maths", "head-of-department"),
        ("role", "head of departmnt", "head-of-department"),
        ("role", "deputy head", "senior-leader"),
        ("role", "I'm on SLT", "senior-leader"),
        ("role", "TA", "teaching-assistant"),
        ("role", "deputy head of department", "classroom-teacher"),
        ("ect", "yep", True),
        ("ect", "yess", True),
        ("ect", "I think so", True),
        ("ect", "Y", True),
        ("ect", "nope", False),
        ("ect", "not really", False),
        ("ect", "I don't think so", False),
        ("ect", "no, I'm not an ECT", False),
        ("dwg_last_year", "yes we did", True),
        ("dwg_last_year", "nah", False),
        ("specialist_already", "not yet", False),
    ],
)
def test_free_text_answers(
    ictx: InterviewContext, question_id: str, text: str, expected: AnswerValue
) -> None:
    match = match_answer(ictx, question(ictx, question_id), ictx.normalise(text))
    assert (match.kind, match.value) == ("answer", expected)


@pytest.mark.parametrize(
    ("question_id", "text", "kind"),
    [
        ("phase", "banana", "none"),
        ("phase", "yes", "none"),
        ("phase", "primary and secondary", "ambiguous"),
        ("ect", "maybe", "unsure"),
        ("dwg_last_year", "I'm not sure", "unsure"),
        ("dwg_last_year", "no idea", "unsure"),
        ("role", "teacher and head of department", "ambiguous"),
    ],
)
def test_unclear_free_text_is_not_guessed(
    ictx: InterviewContext, question_id: str, text: str, kind: str
) -> None:
    assert match_answer(ictx, question(ictx, question_id), ictx.normalise(text)).kind == kind


def test_no_phrase_means_two_answers_after_normalisation(ictx: InterviewContext) -> None:
    """The shared normaliser rewrites phrases (e.g. "maths lead" -> "head of department"); a rewrite must
    never make one phrase stand for two answers of the same question."""
    yes_no = ictx.spec.phrases
    for q in ictx.spec.questions:
        owner: dict[str, str] = {}
        for choice in q.choices:
            phrases = [choice.label, *choice.synonyms]
            if q.yes_no:
                phrases += yes_no.yes if choice.value is True else yes_no.no
            for phrase in phrases:
                said = ictx.normalise(phrase)
                assert owner.setdefault(said, repr(choice.value)) == repr(choice.value), (q.id, phrase)
        for phrase in yes_no.unsure:
            assert ictx.normalise(phrase) not in owner, (q.id, phrase)


def test_one_message_can_answer_several_questions(ictx: InterviewContext) -> None:
    turn = begin(ictx)
    assert turn.state is not None
    turn = advance(ictx, turn.state, Typed("a secondary academy in Leeds"))
    assert turn.state is not None
    assert dict(turn.state.answers) == {"phase": "secondary", "school_funding": "state", "country": "england"}
    assert turn.state.step == "role"
    # a negation stops other answers being picked up
    turn = advance(ictx, begin(ictx).state, Typed("secondary, not in England"))  # type: ignore[arg-type]
    assert turn.state is not None and dict(turn.state.answers) == {"phase": "secondary"}


def test_a_question_is_left_for_the_faq(ictx: InterviewContext) -> None:
    start = begin(ictx).state
    assert start is not None
    for text in ("is the DWG free?", "how long does it take", "what's a mastery advocate?"):
        turn = advance(ictx, start, Typed(text))
        assert not turn.consumed and turn.state == start
    assert advance(ictx, start, Typed("secondary?")).consumed  # an answer with a question mark is an answer


def test_prefilled_answers_are_not_asked(ictx: InterviewContext) -> None:
    turn = begin(
        ictx, prefill={"phase": "secondary", "country": "england", "school_funding": "state", "x": 1}
    )
    assert turn.state is not None and turn.state.step == "role"
    assert "x" not in turn.state.answers


def test_state_round_trips_through_flow_state(ictx: InterviewContext) -> None:
    turn = advance(ictx, begin(ictx).state, Typed("I'm an NQT at a secondary"))  # type: ignore[arg-type]
    assert turn.state is not None
    flow = turn.state.to_flow(NOW, NOW)
    again = InterviewState.from_flow(FlowState.model_validate(flow.model_dump(mode="json")))
    assert again == turn.state
    assert again is not None and again.answers["ect"] is True


def test_idle_status() -> None:
    resume, expire = dt.timedelta(minutes=30), dt.timedelta(hours=24)
    assert idle_status(NOW, NOW + dt.timedelta(minutes=29), resume, expire) == "active"
    assert idle_status(NOW, NOW + dt.timedelta(minutes=30), resume, expire) == "resume"
    assert idle_status(NOW, NOW + dt.timedelta(hours=24), resume, expire) == "expired"


def _paths(ictx: InterviewContext) -> Iterator[tuple[Turn, dict[str, Any]]]:
    """Every way through the interview by buttons (including "not sure"), with the answers given."""
    pending: list[tuple[InterviewState, dict[str, Any]]] = []
    first = begin(ictx)
    assert first.state is not None
    pending.append((first.state, {}))
    while pending:
        state, given = pending.pop()
        q = question(ictx, state.step)
        presses = [answer(q.id, value_token(c.value)) for c in q.choices]
        if q.unsure is not None:
            presses.append(f"{ACTION_PREFIX}unsure:{q.id}")
        for press in presses:
            turn = advance(ictx, state, Pressed(press))
            now_given = {**given, q.id: press.rsplit(":", 1)[1]}
            if turn.state is None:
                yield turn, now_given
            else:
                pending.append((turn.state, now_given))


def test_skipped_questions_never_leave_a_programme_undecided(ictx: InterviewContext) -> None:
    """`ask_if` must only skip questions the rules don't need: every path ends with each programme
    fitting, not fitting, or honestly unclear because the seeds are silent or the user was not sure."""
    endings = 0
    for turn, given in _paths(ictx):
        endings += 1
        values = [c.value for c in turn.replies[-1].choices]
        text = "\n".join(r.text for r in (*turn.replies, *details(ictx, values[0])))
        assert "an answer I don't have yet" not in text, given
        assert values[0].startswith(f"{ACTION_PREFIX}details:") and "menu:fit" in values
        assert ("menu:contact" in values) == (given.get("country", "england") == "england"), given
    assert endings > 50


# -- knowledge checks --------------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    for path in DATA_DIR.glob("*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "      - value: wales\n",
            "      - value: cymru\n",
            "choices[1].value",
            "not an allowed value of 'country'",
        ),
        (
            "ask_if: {phase: [secondary, all-through, special, post-16]}",
            "ask_if: {role: [other]}",
            "questions[1] (country).ask_if.role",
            "not asked before this point",
        ),
        ('  reask: "Sorry', '  reask: "{name} Sorry', "texts.reask", "unknown placeholder"),
        ("  - id: specialist_already", "  - id: dwg_last_year", "questions", "duplicate question"),
    ],
)
def test_broken_interview_is_reported(data_copy: Path, old: str, new: str, where: str, message: str) -> None:
    path = data_copy / "interview.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    knowledge, problems = check_knowledge(data_copy)
    assert knowledge is None
    assert any(p.file == "interview.yaml" and where in p.field and message in p.message for p in problems), (
        problems
    )


def test_interview_without_rules_is_reported(data_copy: Path) -> None:
    (data_copy / "eligibility.yaml").unlink()
    _, problems = check_knowledge(data_copy)
    assert any(p.file == "eligibility.yaml" and "missing" in p.message for p in problems)


async def test_follow_up_after_the_recommendation_is_about_the_programme_that_fits(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("which programme fits me")
    for text in ("Y7-11", "England", "an academy", "I'm an NQT", "nope"):
        await chat.say(text)
    assert fits(chat) == ["development-work-group"]
    await chat.say("how long does it take?")
    answered = chat.answered()
    assert answered is not None and answered.startswith("dwg-")


# -- several answers in one message, corrections, the school list, interruptions ------------------


async def answers_saved(store: SqlStore, chat: Conversation) -> dict[str, Any]:
    flow = (await saved(store, chat)).flow
    assert flow is not None
    return dict(flow.data["answers"])


async def test_a_one_message_profile_is_confirmed_and_only_what_is_missing_is_asked(
    engine: Engine, memory_store: SqlStore
) -> None:
    chat = Conversation(engine)
    await chat.say("which programme fits me")
    await chat.say(
        "I'm head of maths at a state academy in Leeds, and we did a development work group last year"
    )
    assert await answers_saved(memory_store, chat) == {
        "country": "england",
        "school_funding": "state",
        "role": "head-of-department",
        "ect": False,  # a head of department is not an ECT
        "dwg_last_year": True,
    }
    got_it = next(r for r in chat.last if "got_it" in r.data)  # one line saying what was understood
    assert got_it.data["got_it"] == "country,school_funding,role,dwg_last_year"
    assert asked(chat) == "phase"  # the only thing it needs that wasn't said
    await chat.say("secondary")
    assert asked(chat) == "specialist_already"
    await chat.say("no")
    assert fits(chat)[:2] == ["embedding-year-support", "embedding-sustaining-work-group"]


async def test_hod_at_a_comprehensive_is_not_asked_their_role(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.say("which programme fits me")
    await chat.say("I'm HoD at a comprehensive in Leeds, an academy")
    assert asked(chat) == "dwg_last_year"
    assert (await answers_saved(memory_store, chat))["role"] == "head-of-department"


async def test_typos_and_abbreviations_in_one_message(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("NQT at a secondry acadmy in England")
    answers = await answers_saved(memory_store, chat)
    assert answers == {
        "phase": "secondary",
        "school_funding": "state",
        "country": "england",
        "role": "classroom-teacher",
        "ect": True,
    }
    assert asked(chat) == "dwg_last_year"


async def test_corrections_take_an_answer_back_or_change_it(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("I'm HoD at a comprehensive in Leeds, an academy")
    assert asked(chat) == "dwg_last_year"
    await chat.say("no, I'm not the HoD")  # takes the role back; the "no" is not about the DWG
    answers = await answers_saved(memory_store, chat)
    assert "role" not in answers and "ect" not in answers and "dwg_last_year" not in answers
    assert asked(chat) == "role"
    await chat.say("classroom teacher")
    assert asked(chat) == "ect"  # no longer implied by "head of department"
    await chat.say("no")
    await chat.say("actually I'm a deputy head")  # a change of an earlier answer
    assert (await answers_saved(memory_store, chat))["role"] == "senior-leader"
    assert asked(chat) == "dwg_last_year"


async def test_not_sure_about_last_years_dwg_as_an_ect(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("I'm an ECT in a state secondary school in England")
    assert asked(chat) == "dwg_last_year"
    await chat.say("not sure")
    # Not "none of the programmes fits": each work group is listed with what it depends on.
    assert fits(chat) == []
    assert possible(chat) == [
        "development-work-group",
        "embedding-year-support",
        "embedding-sustaining-work-group",
    ]
    assert "none of the programmes fits" not in chat.text()
    assert "possibly, if your department didn't take part" in chat.text()
    assert "your head of maths will know" not in chat.text()  # the summary stays short


async def test_not_sure_in_the_same_message_as_other_answers(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("deputy head at a secondary academy in England, not sure if we did a DWG last year")
    # nothing left to ask: the senior leader is asked whether they are a specialist only if not an ECT
    assert asked(chat) == "specialist_already"
    flow = (await saved(memory_store, chat)).flow
    assert flow is not None and flow.data["unsure"] == ["dwg_last_year"]
    await chat.say("no")
    assert "specialist-programme" in fits(chat)
    assert "development-work-group" in possible(chat)


async def test_school_found_is_confirmed_and_prefills(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("I teach at St Paul's Academy in Greenwich")
    assert chat.choice_values() == [f"{ACTION_PREFIX}school:105135", f"{ACTION_PREFIX}school:none"]
    await chat.press(f"{ACTION_PREFIX}school:105135")
    answers = await answers_saved(memory_store, chat)
    assert answers == {"phase": "secondary", "country": "england", "school_funding": "state"}
    assert asked(chat) == "role"


async def test_school_typed_yes_confirms(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("St Pauls Academy Greenwich")
    await chat.say("yes")
    assert (await answers_saved(memory_store, chat))["phase"] == "secondary"
    assert asked(chat) == "role"


async def test_ambiguous_school_offers_each_and_none(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("st pauls")
    values = chat.choice_values()
    assert f"{ACTION_PREFIX}school:105135" in values and f"{ACTION_PREFIX}school:100046" in values
    assert values[-1] == f"{ACTION_PREFIX}school:none"
    await chat.press(f"{ACTION_PREFIX}school:none")  # not theirs: carry on with the questions
    assert asked(chat) == "phase"
    await chat.say("St Aloysius RC College")  # a second attempt is looked up too
    assert chat.choice_values()[0] == f"{ACTION_PREFIX}school:100459"
    await chat.press(f"{ACTION_PREFIX}school:100459")
    assert (await answers_saved(memory_store, chat))["phase"] == "secondary"


async def test_school_not_found_then_found(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("Zebrafield Grange School")
    assert "couldn't find" in chat.text()
    assert asked(chat) == "phase"
    await chat.say("St Paul's Academy, Greenwich")
    assert f"{ACTION_PREFIX}school:105135" in chat.choice_values()


async def test_a_closed_school_is_not_offered(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("Kingsgate Junior School")  # closed in the school list
    assert not any(v.startswith(f"{ACTION_PREFIX}school:") for v in chat.choice_values())
    assert "closed" in chat.text()
    assert asked(chat) == "phase"


async def test_a_welsh_school(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("I work at Islwyn High School")
    await chat.press(f"{ACTION_PREFIX}school:402388")
    text = chat.text()  # nothing else could change the answer, so nothing else is asked
    assert fits(chat) == [] and "in Wales" in text
    assert "state-funded schools in England" in text
    assert "maths-hubs" not in text and "menu:contact" not in chat.choice_values()


async def test_a_local_authority_names_the_hub(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("I'm a maths teacher at a state secondary in Wakefield, not an ECT")
    await chat.say("no")
    await chat.say("no")
    assert "Yorkshire and the Humber Maths Hub" in chat.text()  # routing is confident for Wakefield


async def test_reload_mid_interview_shows_the_current_question(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("secondary")
    await chat.say("hello")  # what the web page sends when it is loaded again
    assert asked(chat) == "country"
    assert "didn't quite catch" not in chat.text()
    await chat.say("England")
    assert asked(chat) == "school_funding"


async def test_help_cancel_and_a_question_during_the_school_check(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.press("menu:fit")
    await chat.say("St Pauls Academy Greenwich")
    await chat.say("is the DWG free?")
    assert chat.answered() == "dwg-cost"
    assert f"{ACTION_PREFIX}school:105135" in chat.choice_values()  # asked again afterwards
    await chat.say("restart")
    assert asked(chat) == "phase"
