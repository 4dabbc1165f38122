"""Learning from use: signals from the engine become suggestions an author accepts into the FAQ file.

Every test edits a temporary copy of the knowledge, never the packaged files.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import difflib
import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import build_parser, main
from bot.clock import ManualClock
from bot.engine import Engine
from bot.privacy import has_placeholder, mask_personal
from bot.settings import Settings
from bot.state import ConversationState, SavedChoice
from bot.store.base import SignalSummary
from bot.store.schema import FeedbackRow, PickRow, UnansweredRow
from bot.store.sql import SqlStore
from bot.suggestions import (
    Suggestion,
    accept,
    build_suggestions,
    list_suggestions,
    reject,
    write_csv,
)
from bot.suggestions_cli import run_async
from knowledge.editor import add_phrasing
from knowledge.loader import DATA_DIR, Knowledge, load_knowledge
from tests.conftest import T0
from tests.helpers import Conversation


@pytest.fixture
def knowledge_dir(tmp_path: Path, small_knowledge_dir: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(small_knowledge_dir, target)
    return target


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'learning.db'}", clock=ManualClock(T0))
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def engine(knowledge_dir: Path, db: SqlStore) -> Engine:
    return Engine(load_knowledge(knowledge_dir), db)


async def suggestions(engine: Engine, *, everything: bool = False) -> list[Suggestion]:
    assert isinstance(engine.store, SqlStore)
    return await list_suggestions(engine.store, engine.knowledge, everything=everything)


async def offered(engine: Engine, chat: Conversation, question: str, *faq_ids: str) -> None:
    """Leave `chat` as if the bot had just asked "did you mean" about `question` (whatever the matcher
    would make of it), so a pick's masking can be tested with any wording."""
    state = ConversationState(
        pending_question=question,
        last_question=question,
        choices=[SavedChoice(label=f, value=f"faq:{f}") for f in faq_ids],
    )
    async with engine.store.conversation(chat.key) as slot:
        slot.save(state.model_dump(mode="json"))


def changed_lines(before: str, after: str) -> list[str]:
    """The lines a diff shows, as "+line" / "-line"."""
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return [line[0] + line[2:] for line in diff if line[:1] in "+-"]


def refreshed(engine: Engine) -> Knowledge:
    """What the server does after a change: load the directory again and swap it in."""
    knowledge = load_knowledge(engine.knowledge.directory)
    engine.reload(knowledge)
    return knowledge


# -- signals -----------------------------------------------------------------------------------


async def test_a_did_you_mean_pick_becomes_a_suggestion_for_the_chosen_entry(engine: Engine) -> None:
    for _ in range(2):
        chat = Conversation(engine)
        await chat.say("is it free?")
        assert chat.last[0].kind == "disambiguation"
        await chat.press("faq:specialist-cost")
        assert chat.answered() == "specialist-cost"
    rows = await suggestions(engine)
    assert [(s.kind, s.faq_id, s.wording, s.count) for s in rows] == [
        ("pick", "specialist-cost", "is it free?", 2)
    ]
    assert rows[0].id.startswith("p-")
    assert rows[0].id == (await suggestions(engine))[0].id  # stable from one listing to the next


async def test_a_button_not_offered_in_the_last_did_you_mean_is_not_a_pick(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("is it free?")
    await chat.press("faq:dwg-time")  # an old button from further up the conversation
    assert chat.answered() == "dwg-time"
    await chat.say("1")  # a typed number picks from the choices now on screen (the feedback buttons)
    assert await suggestions(engine) == []


async def test_a_thumbs_down_becomes_a_suggestion_to_review_that_entry(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("how many days is it")
    assert chat.answered() == "dwg-time"
    await chat.press("feedback:down:dwg-time")
    await chat.say("is the dwg free")
    await chat.press("feedback:up:dwg-cost")  # a thumbs up suggests nothing
    rows = await suggestions(engine)
    assert [(s.kind, s.faq_id, s.wording, s.count) for s in rows] == [
        ("thumbs_down", "dwg-time", "how many days is it", 1)
    ]
    assert "review dwg-time" in rows[0].action


async def test_repeated_unanswered_wordings_are_one_row_with_a_count(engine: Engine) -> None:
    wordings = [
        "What's the weather like in Leeds tomorrow?",
        "whats the weather like in leeds tomorrow",
        "weather in Leeds tomorrow?",
        "what is the weather in leeds tomorrow",
        "What will the weather be like in Leeds tomorrow?",
        "whats the weather in leeds",
        "weather leeds tomorrow",
        "what's the weather going to be like in Leeds tomorrow",
        "leeds weather tomorrow??",
        "WHAT'S THE WEATHER LIKE IN LEEDS TOMORROW",
    ]
    for text in wordings:
        chat = Conversation(engine)
        await chat.say(text)
        assert chat.last[0].kind == "fallback", text
    for text in ("do you sell pencils", "do you sell pencils?"):
        await Conversation(engine).say(text)
    first = await suggestions(engine)
    assert [(s.kind, s.count) for s in first] == [("unanswered", 10), ("unanswered", 2)]
    weather = first[0]
    assert weather.wording == "What's the weather like in Leeds tomorrow?"  # the wording seen first
    assert sum(n for _, n in weather.wordings) == 10
    # One more wording joins the row without changing its id.
    await Conversation(engine).say("weather for leeds tomorrow please")
    again = await suggestions(engine)
    assert (again[0].id, again[0].count) == (weather.id, 11)
    assert again[1].id == first[1].id


def test_clustering_keeps_different_questions_apart(small_knowledge: Knowledge) -> None:
    now = dt.datetime(2026, 11, 30, 9, 0)

    def signal(text: str, minutes: int) -> SignalSummary:
        at = now + dt.timedelta(minutes=minutes)
        return SignalSummary("unanswered", None, text, 1, at, at)

    rows = build_suggestions(
        [
            signal("is it free", 0),  # short: must not swallow longer questions that use its words
            signal("is it free for ects in wales to come to the summer conference", 1),
            signal("do you sell pencils", 2),
            signal("can i buy pencils from you", 3),
            signal("who runs the hub in cornwall", 4),
            signal("who runs the hub in devon", 5),
        ],
        small_knowledge,
    )
    assert sorted(s.count for s in rows) == [1, 1, 1, 1, 2]
    cornwall = next(s for s in rows if s.count == 2)
    assert {text for text, _ in cornwall.wordings} == {
        "who runs the hub in cornwall",
        "who runs the hub in devon",
    }
    strict = build_suggestions(
        [signal("who runs the hub in cornwall", 0), signal("who runs the hub in devon", 1)],
        small_knowledge,
        threshold=95,
    )
    assert len(strict) == 2


# -- privacy -----------------------------------------------------------------------------------


async def test_suggestions_keep_no_personal_data(engine: Engine) -> None:
    chat = Conversation(engine)
    question = "Hi, I'm Sarah Jones (sarah.jones@school.org.uk, 07700 900123) - is it free?"
    await offered(engine, chat, question, "dwg-cost", "specialist-cost")
    await chat.press("faq:dwg-cost")
    await chat.press("feedback:down:dwg-cost")
    await Conversation(engine).say(question)  # unanswered
    await Conversation(engine).say("my name is tom o'neil, LS1 4AP, do you sell pencils")
    assert isinstance(engine.store, SqlStore)
    async with engine.store.session() as session:
        stored = [
            *(await session.execute(select(PickRow.question, PickRow.normalised))).all(),
            *(await session.execute(select(FeedbackRow.question))).all(),
            *(await session.execute(select(UnansweredRow.question, UnansweredRow.normalised))).all(),
        ]
    text = " ".join(str(v) for row in stored for v in row)
    for secret in ("Sarah", "Jones", "sarah.jones", "07700", "900123", "tom", "o'neil", "LS1"):
        assert secret.lower() not in text.lower(), secret
    assert "is it free?" in text and "pencils" in text
    rows = await suggestions(engine)
    assert {s.kind for s in rows} == {"pick", "thumbs_down", "unanswered"}
    assert all(has_placeholder(s.wording) for s in rows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm Sarah Jones, is the DWG free?", "I'm [name], is the DWG free?"),
        ("i am called Sam, what is tfm", "i am called [name], what is tfm"),
        ("my name is sarah jones and i teach in leeds", "my name is [name] and i teach in leeds"),
        ("My name's Priya. Can ECTs apply?", "My name's [name]. Can ECTs apply?"),
        ("This is Siobhan McDonald from Oakwood", "This is [name] from Oakwood"),
        ("I’m Mary-Jane O'Neil: can we join?", "I’m [name]: can we join?"),
        ("Sarah here, is the msp open?", "[name] here, is the msp open?"),
        ("is the dwg free? Thanks, Sarah", "is the dwg free? Thanks, [name]"),
        ("is the dwg free? Kind regards, Ann Lee", "is the dwg free? Kind regards, [name]"),
        ("is it online?\nBest,\nTom", "is it online?\nBest,\n[name]"),
        ("call me on 07700 900123 or +44 20 7946 0000", "call me on [phone] or [phone]"),
        ("email me: a.b+c@school.sch.uk", "email me: [email]"),
        ("we're in SW1A 1AA", "we're in [postcode]"),
    ],
)
def test_masking_names_people_give_for_themselves(text: str, expected: str) -> None:
    assert mask_personal(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I'm new to secondary mastery, what does the approach mean?",
        "I'm Head of Maths at a Leeds academy, can we join?",
        "I am an ECT, can I join the dwg",
        "I'm ECT2, which programmes can I do?",
        "This is Year 7 maths, any help?",
        "Is the Development Work Group free for schools in Wales?",
        "my name's not important, what is tfm",
        "which programme is the best Option for us",
        "thanks",
    ],
)
def test_masking_leaves_ordinary_questions_alone(text: str) -> None:
    assert mask_personal(text) == text


# -- accepting and rejecting -------------------------------------------------------------------


async def test_accepting_a_pick_adds_the_wording_to_the_chosen_entry(engine: Engine) -> None:
    faq = engine.knowledge.directory / "faq.yaml"
    # Comments and order must survive the edit.
    faq.write_text(
        "# Test FAQ: this comment stays.\n"
        + faq.read_text(encoding="utf-8").replace(
            "  - id: dwg-time\n", "  # How long things take.\n  - id: dwg-time\n"
        ),
        encoding="utf-8",
    )
    engine.reload(load_knowledge(engine.knowledge.directory))
    before = faq.read_text(encoding="utf-8")
    chat = Conversation(engine)
    await chat.say("is it free?")
    await chat.press("faq:specialist-cost")
    (row,) = await suggestions(engine)
    assert isinstance(engine.store, SqlStore)
    outcome = await accept(engine.store, engine.knowledge, row.id)
    assert outcome.ok, outcome
    after = faq.read_text(encoding="utf-8")
    changed = changed_lines(before, after)
    assert len(changed) == 2  # one line: the specialist-cost phrasings, with the new wording at the end
    assert changed[1].startswith("+    phrasings: [is the specialist programme free, ")
    assert changed[1].endswith(', "is it free?"]')  # quoted: a "?" in a [flow, list] needs it
    assert "# Test FAQ: this comment stays." in after and "# How long things take." in after
    ids = [e.id for e in load_knowledge(engine.knowledge.directory).faq]
    assert ids == [e.id for e in engine.knowledge.faq]

    refreshed(engine)
    chat = Conversation(engine)
    await chat.say("is it free?")
    assert chat.answered() == "specialist-cost"  # straight away, no "did you mean"
    assert await suggestions(engine) == []
    (done,) = await suggestions(engine, everything=True)
    assert (done.status, done.decided_faq) == ("accepted", "specialist-cost")
    again = await accept(engine.store, engine.knowledge, row.id)
    assert again.ok and "already accepted" in again.message


def test_accept_keeps_the_packaged_faq_layout(tmp_path: Path) -> None:
    """On a copy of the real knowledge: block-style lists, folded answers, section comments."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    faq = copy / "faq.yaml"
    before = faq.read_text(encoding="utf-8")
    entry = load_knowledge(copy).faq[0]
    result = add_phrasing(copy, entry.id, "tell me in one line what this mastery thing is")
    assert result.ok and result.changed, result
    diff = changed_lines(before, faq.read_text(encoding="utf-8"))
    assert diff == ["+      - tell me in one line what this mastery thing is"]
    assert load_knowledge(copy).faq_by_id[entry.id].phrasings[-1] == (
        "tell me in one line what this mastery thing is"
    )


def test_accept_refuses_a_wording_another_entry_already_has(knowledge_dir: Path) -> None:
    faq = knowledge_dir / "faq.yaml"
    before = faq.read_bytes()
    refused = add_phrasing(knowledge_dir, "specialist-cost", "Is the  WORK group free")
    assert not refused.ok and "already a phrasing of dwg-cost" in refused.message
    same = add_phrasing(knowledge_dir, "dwg-cost", "is the work group free")
    assert same.ok and not same.changed
    missing = add_phrasing(knowledge_dir, "no-such-entry", "a brand new wording")
    assert not missing.ok and "no FAQ entry" in missing.message
    assert faq.read_bytes() == before


def test_accept_rolls_back_when_the_knowledge_does_not_validate(knowledge_dir: Path) -> None:
    faq = knowledge_dir / "faq.yaml"
    before = faq.read_bytes()
    programmes = knowledge_dir / "programmes.yaml"
    programmes.write_text(programmes.read_text().replace("id: specialist-programme", "id: renamed", 1))
    result = add_phrasing(knowledge_dir, "dwg-cost", "what does the work group cost us")
    assert not result.ok and not result.changed
    assert any(p.file == "faq.yaml" and "unknown programme" in p.message for p in result.problems)
    assert faq.read_bytes() == before


async def test_an_unanswered_question_is_accepted_into_the_entry_the_author_names(engine: Engine) -> None:
    await Conversation(engine).say("what happens in a typical work group meeting?")
    await Conversation(engine).say("what happens at a typical work group meeting")
    (row,) = await suggestions(engine)
    assert (row.kind, row.count) == ("unanswered", 2)
    assert isinstance(engine.store, SqlStore)
    needs_entry = await accept(engine.store, engine.knowledge, row.id)
    assert not needs_entry.ok and "--faq" in needs_entry.message
    typo = await accept(engine.store, engine.knowledge, row.id, faq_id="mastery-advocate")
    assert not typo.ok and "mastery-advocates" in typo.message  # a close id is suggested
    ok = await accept(engine.store, engine.knowledge, row.id, faq_id="mastery-advocates")
    assert ok.ok, ok
    assert (
        "what happens in a typical work group meeting?"
        in refreshed(engine).faq_by_id["mastery-advocates"].phrasings
    )
    chat = Conversation(engine)
    await chat.say("what happens in a typical work group meeting?")
    assert chat.answered() == "mastery-advocates"


async def test_a_thumbs_down_is_accepted_by_moving_the_wording_to_a_better_entry(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("how many days is it")
    await chat.press("feedback:down:dwg-time")
    (row,) = await suggestions(engine)
    assert isinstance(engine.store, SqlStore)
    review_only = await accept(engine.store, engine.knowledge, row.id)
    assert not review_only.ok and "review that entry" in review_only.message
    moved = await accept(engine.store, engine.knowledge, row.id, faq_id="specialist-time")
    assert moved.ok, moved
    refreshed(engine)
    chat = Conversation(engine)
    await chat.say("how many days is it")
    assert chat.answered() == "specialist-time"


async def test_a_masked_wording_must_be_rewritten_before_it_is_added(engine: Engine) -> None:
    chat = Conversation(engine)
    await offered(engine, chat, "I'm Sarah Jones. Is it free?", "dwg-cost", "specialist-cost")
    await chat.press("faq:specialist-cost")
    (row,) = await suggestions(engine)
    assert row.wording == "I'm [name]. Is it free?"
    assert isinstance(engine.store, SqlStore)
    refused = await accept(engine.store, engine.knowledge, row.id)
    assert not refused.ok and "--text" in refused.message
    ok = await accept(engine.store, engine.knowledge, row.id, text="is the msp free to join?")
    assert ok.ok, ok
    assert refreshed(engine).faq_by_id["specialist-cost"].phrasings[-1] == "is the msp free to join?"


async def test_reject_hides_a_suggestion_for_good(tmp_path: Path, knowledge_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reject.db'}"
    store = SqlStore(url, clock=ManualClock(T0))
    await store.open()
    engine = Engine(load_knowledge(knowledge_dir), store)
    await Conversation(engine).say("do you sell pencils")
    (row,) = await suggestions(engine)
    faq_before = (knowledge_dir / "faq.yaml").read_bytes()
    outcome = await reject(store, engine.knowledge, row.id)
    assert outcome.ok
    await Conversation(engine).say("do you sell pencils?")  # a new wording joins the hidden row
    assert await suggestions(engine) == []
    await store.close()

    reopened = SqlStore(url, clock=ManualClock(T0))  # the decision is in the database, not in this process
    await reopened.open()
    try:
        assert await list_suggestions(reopened, engine.knowledge) == []
        (hidden,) = await list_suggestions(reopened, engine.knowledge, everything=True)
        assert (hidden.id, hidden.status, hidden.count) == (row.id, "rejected", 2)
        missing = await reject(reopened, engine.knowledge, "u-00000000")
        assert not missing.ok and "no suggestion" in missing.message
    finally:
        await reopened.close()
    assert (knowledge_dir / "faq.yaml").read_bytes() == faq_before


def test_wordings_already_in_the_faq_are_not_suggested(small_knowledge: Knowledge) -> None:
    at = dt.datetime(2026, 11, 30, 9, 0)
    rows = build_suggestions(
        [
            SignalSummary("pick", "dwg-cost", "Is the work group free?", 3, at, at),
            SignalSummary("thumbs_down", "dwg-cost", "is the work group free", 1, at, at),
        ],
        small_knowledge,
    )
    statuses = {(s.kind, s.status) for s in rows}
    # A thumbs down on an entry's own phrasing is about the answer, so it stays open.
    assert statuses == {("pick", "known"), ("thumbs_down", "open")}


# -- export and the command line -----------------------------------------------------------------


def test_csv_export_neutralises_formulas() -> None:
    at = dt.datetime(2026, 11, 30, 9, 0)
    row = Suggestion(
        "u-12345678", "unanswered", None, "=HYPERLINK(1)", 2, at, at, (("=HYPERLINK(1)", 1), ("+x", 1))
    )
    out = io.StringIO()
    write_csv([row], out)
    header, values = list(csv.reader(io.StringIO(out.getvalue())))
    assert header[:6] == ["id", "kind", "status", "count", "faq_id", "wording"]
    assert values[5] == "'=HYPERLINK(1)" and values[6] == "'+x (1)"


def test_command_line_lists_accepts_and_exports(
    tmp_path: Path, knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def use() -> None:
        store = SqlStore(url, clock=ManualClock(T0))
        await store.open()
        engine = Engine(load_knowledge(knowledge_dir), store)
        chat = Conversation(engine)
        await chat.say("is it free?")
        await chat.press("faq:specialist-cost")
        await Conversation(engine).say("do you sell pencils")
        await store.close()

    asyncio.run(use())
    base = ["--database-url", url, "--knowledge-dir", str(knowledge_dir), "suggestions"]
    assert main(base) == 0
    listing = capsys.readouterr().out
    assert "picked from 'did you mean'" in listing and "unanswered" in listing
    assert "is it free?" in listing and "do you sell pencils" in listing
    pick_id = next(w for w in listing.split() if w.startswith("p-"))

    assert main([*base, "accept", pick_id]) == 0
    assert "added 'is it free?' to specialist-cost" in capsys.readouterr().out
    assert main([*base, "accept", "u-00000000", "--faq", "dwg-cost"]) == 1
    assert "no suggestion" in capsys.readouterr().err

    exported = tmp_path / "suggestions.csv"
    assert main([*base, "export", "--csv", str(exported)]) == 0
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["kind"], r["status"]) for r in rows} == {("pick", "accepted"), ("unanswered", "open")}


async def test_cli_function_runs_inside_an_event_loop(tmp_path: Path, knowledge_dir: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'fn.db'}", knowledge_dir=knowledge_dir)
    store = SqlStore(settings.database_url)  # the server made the database before anyone reviews
    await store.open()
    await store.close()
    args: argparse.Namespace = build_parser().parse_args(["suggestions", "--json"])
    out = io.StringIO()
    assert await run_async(args, settings, out) == 0
    assert out.getvalue().strip() == "[]"
