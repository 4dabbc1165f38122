"""The web chat in a real browser: Debian's Chromium driven by Playwright, against `python -m bot serve`.

What a teacher does, at desktop (1280×800) and phone (390×844) sizes: ask, pick "did you mean" by
keyboard, the interview by buttons and by typing, an enquiry to its reference, a reload, a message
that is too long; and axe-core's accessibility rules. Every page must also run without a console
error (a Content-Security-Policy violation is one).

Outside CI these tests skip, saying why, when Chromium, Playwright or axe-core is missing; with
CI=true they fail instead (.ci/run installs all three).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from knowledge.loader import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE_JS = Path(
    os.environ.get("AXE_CORE_JS", ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js")
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
WAIT_MS = 15_000
REFERENCE = re.compile(r"LLME-\d{4}-\d{6}")

try:
    from playwright.sync_api import Locator, Page, expect, sync_playwright

    HAVE_PLAYWRIGHT = True
except ImportError:  # only outside CI: the dev extra installs it
    HAVE_PLAYWRIGHT = False


def _missing() -> str | None:
    if not HAVE_PLAYWRIGHT:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if not AXE_JS.exists():
        return f"axe-core not found at {AXE_JS} (npm install --prefix .ci/node axe-core)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _browser_tools() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m bot serve` on a free loopback port: the real knowledge with the small test FAQ (so
    "did you mean" is stable) and the fictional test schools (so an enquiry routes to a hub)."""
    base = tmp_path_factory.mktemp("browser")
    knowledge = base / "knowledge"
    shutil.copytree(DATA_DIR, knowledge)
    shutil.copy(FIXTURES / "knowledge" / "faq.yaml", knowledge / "faq.yaml")
    shutil.copy(FIXTURES / "knowledge" / "enquiry" / "schools.csv", knowledge / "schools.csv")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "ENQUIRY_"))},
        "DATABASE_URL": f"sqlite+aiosqlite:///{base / 'web.db'}",
        "KNOWLEDGE_DIR": str(knowledge),
        "ENQUIRY_MAILBOX_DIR": str(base / "inbox"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_RATE_LIMIT_PER_USER": "0",
        "KNOWLEDGE_RELOAD_SECONDS": "0",
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
    }
    log = (base / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + (base / "server.log").read_text())
            time.sleep(0.1)  # polling a child process's port, not waiting on the page
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_playwright() as p:
        yield p


@dataclass
class Chat:
    """A browser with a fresh profile on the chat page, and the console errors it reported."""

    page: Page
    errors: list[str] = field(default_factory=list)

    @property
    def box(self) -> Locator:
        return self.page.locator("#message")

    def bot(self) -> Locator:
        return self.page.locator("#log > li.msg.bot")

    def users(self) -> Locator:
        return self.page.locator("#log > li.msg.user")

    def ready(self) -> None:
        expect(self.page.locator("body[data-ready=true]")).to_have_count(1, timeout=WAIT_MS)
        expect(self.page.locator("#send")).to_be_enabled(timeout=WAIT_MS)

    def say(self, text: str) -> Locator:
        """Type and press Enter; returns the bot's first reply to it, once every reply is shown."""
        before = self.bot().count()
        self.box.fill(text)
        self.box.press("Enter")
        return self._answer(before)

    def press(self, label: str) -> Locator:
        """Press the enabled button with this label (the latest one); returns the first reply."""
        before = self.bot().count()
        self.page.locator("#log button:enabled", has_text=label).last.click()
        return self._answer(before)

    def _answer(self, before: int) -> Locator:
        expect(self.bot()).not_to_have_count(before, timeout=WAIT_MS)
        expect(self.page.locator("#send")).to_be_enabled(timeout=WAIT_MS)
        return self.bot().nth(before)

    def last_text(self) -> str:
        return self.bot().last.inner_text()


@pytest.fixture
def open_chat(playwright: Any, server: str, tmp_path: Path) -> Iterator[Any]:
    contexts: list[Any] = []
    chats: list[Chat] = []

    def opener(viewport: dict[str, int] = DESKTOP, **options: Any) -> Chat:
        profile = tmp_path / f"profile-{len(contexts)}"
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=viewport,
            **options,
        )
        contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        chat = Chat(page)
        page.on("console", lambda m: chat.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: chat.errors.append(str(exc)))
        page.goto(server + "/")
        chat.ready()
        chats.append(chat)
        return chat

    yield opener
    for context in contexts:
        context.close()
    for chat in chats:
        assert chat.errors == [], f"console errors: {chat.errors}"


def _in_view(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
            return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; }""",
            selector,
        )
    )


def _no_page_scroll(page: Page) -> None:
    sizes = page.evaluate(
        """() => { const d = document.scrollingElement;
        return [d.scrollWidth, d.clientWidth, d.scrollHeight, d.clientHeight]; }"""
    )
    width, client_width, height, client_height = sizes
    assert width <= client_width, f"the page scrolls sideways: {width} > {client_width}"
    assert height <= client_height + 1, f"the page itself scrolls: {height} > {client_height}"


def _composer_in_view(page: Page) -> None:
    for selector in ("#message", "#send"):
        assert _in_view(page, selector), f"{selector} is out of view"
    _no_page_scroll(page)


def _top_visible_in_log(page: Page, locator: Locator) -> None:
    handle = locator.element_handle()
    visible = page.evaluate(
        """(el) => { const log = document.getElementById('log-region').getBoundingClientRect();
        const r = el.getBoundingClientRect(); return r.top >= log.top - 1 && r.top < log.bottom; }""",
        handle,
    )
    assert visible, "the newest reply's start is not in view"


# -- the tests ------------------------------------------------------------------------------------


def test_a_question_gets_an_answer_with_its_source_link(open_chat: Any) -> None:
    chat = open_chat()
    expect(chat.bot().first).to_contain_text("Hello!")
    assert chat.users().count() == 0  # the automatic greeting shows no user message
    answer = chat.say("Is the DWG free?")
    expect(chat.users().last).to_have_text(re.compile("Is the DWG free?"))
    expect(answer).to_contain_text("free")
    link = answer.locator("p.source a")
    expect(link).to_have_attribute("href", re.compile(r"^https://"))
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    # Thumbs are drawn icons with words, not emoji a missing font would turn into boxes.
    thumbs = answer.locator(".choices.feedback button")
    expect(thumbs).to_have_count(2)
    expect(thumbs.first.locator("svg")).to_have_count(1)
    assert thumbs.first.inner_text().strip() == "Helpful"
    assert not re.search(r"[\U0001F300-\U0001FAFF]", chat.page.locator("#log").inner_text())
    thumbs.first.click()
    expect(chat.bot().last).to_contain_text("Thanks")
    expect(chat.users().last).to_have_text(re.compile("Helpful"))


def test_did_you_mean_is_answered_with_the_keyboard_alone(open_chat: Any) -> None:
    chat = open_chat()
    question = chat.say("is it free?")
    expect(question).to_contain_text("Did you mean")
    wanted = "Does the Development Work Group cost anything?"
    page = chat.page
    expect(chat.box).to_be_focused()
    for _ in range(10):  # back from the message box into the options
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.textContent") == wanted:
            break
    else:
        pytest.fail("the option could not be reached with the keyboard")
    before = chat.bot().count()
    page.keyboard.press("Enter")
    answer = chat._answer(before)
    expect(answer).to_contain_text("fully funded")
    buttons = question.locator("button")
    expect(buttons.filter(has_text=wanted)).to_have_class(re.compile("picked"))
    for n in range(buttons.count()):
        expect(buttons.nth(n)).to_be_disabled()
    expect(chat.box).to_be_focused()  # ready for the next question


@pytest.mark.parametrize("viewport", SIZES)
def test_the_interview_by_buttons_and_by_typing_ends_in_a_readable_recommendation(
    open_chat: Any, viewport: dict[str, int]
) -> None:
    chat = open_chat(viewport)
    chat.press("Which programme fits me?")
    expect(chat.bot().last).to_contain_text("What kind of school")
    chat.press("Secondary")
    expect(chat.bot().last).to_contain_text("Where is your school?")
    chat.say("England")  # typed instead of pressed: that question's buttons are spent
    expect(chat.page.locator("#log button:enabled", has_text="Scotland")).to_have_count(0)
    chat.press("State-funded")
    chat.say("classroom teacher")
    expect(chat.bot().last).to_contain_text("early career teacher")
    chat.press("Yes")
    expect(chat.bot().last).to_contain_text("Development Work Group last year")
    chat.say("yes")
    result = chat.bot().last
    expect(result).to_contain_text("fit you")
    # Readable: reasons are a list, the summary its own paragraph, the details behind a disclosure.
    expect(result.locator("ul li")).to_have_count(2)
    assert result.locator(".bubble > p").count() >= 3
    more = result.locator("details.more")
    expect(more).to_have_count(1)
    expect(more.locator(".panel")).to_be_hidden()
    more.locator("summary").click()
    expect(more.locator(".panel")).to_contain_text("don't fit", timeout=WAIT_MS)
    expect(more).to_have_attribute("open", "")
    _composer_in_view(chat.page)
    assert chat.page.locator("#log button:enabled", has_text="Start again").count() == 1


def test_an_enquiry_ends_with_a_reference_that_never_breaks(open_chat: Any) -> None:
    chat = open_chat(PHONE)
    expect(chat.say("I'd like to talk to someone")).to_contain_text("Maths Hub")
    chat.press("Yes, that's fine")
    chat.say("Ada Lovelace")
    chat.say("ada@example.org")
    chat.press("Head of maths department")
    chat.say("Downland Test Academy")
    chat.press("Downland Test Academy")
    chat.press("Development Work Group")
    summary = chat.say("How many teachers can join the Work Group?")
    expect(summary.locator("li")).to_have_count(6)  # the enquiry's details as a list
    confirmation = chat.press("Send it")
    expect(confirmation).to_contain_text(REFERENCE)
    references = confirmation.locator("span.nowrap", has_text=REFERENCE)
    assert references.count() >= 1
    for n in range(references.count()):
        lines = chat.page.evaluate("(el) => el.getClientRects().length", references.nth(n).element_handle())
        assert lines == 1, "the reference is broken across lines"
    _composer_in_view(chat.page)


def test_html_in_a_message_is_shown_as_text(open_chat: Any) -> None:
    chat = open_chat()
    markup = '<img src=x onerror="window.__pwned=1"><b>bold</b> <script>window.__pwned=2</script>'
    chat.say(markup)
    expect(chat.users().last.locator(".bubble")).to_have_text(markup)
    assert chat.page.locator("#log img, #log b, #log script").count() == 0
    assert chat.page.evaluate("() => window.__pwned") is None


@pytest.mark.parametrize("viewport", SIZES)
def test_the_message_box_stays_in_view_after_long_answers(open_chat: Any, viewport: dict[str, int]) -> None:
    chat = open_chat(viewport)
    for _ in range(3):
        reply = chat.say("help")
        _composer_in_view(chat.page)
        _top_visible_in_log(chat.page, reply)
    reply = chat.say("Is the DWG free?")
    _composer_in_view(chat.page)
    _top_visible_in_log(chat.page, reply)
    expect(chat.box).to_be_focused()
    # Taller than the window: it is shown from its start, and the message box still does not move.
    long = "\n".join(f"line {n} of a long message" for n in range(60))
    chat.say(long)
    _composer_in_view(chat.page)
    _top_visible_in_log(chat.page, chat.bot().last)


@pytest.mark.parametrize(
    ("viewport", "scale"),
    [
        pytest.param({"width": 320, "height": 640}, 1, id="320px"),
        pytest.param({"width": 640, "height": 400}, 2, id="1280x800-at-200%"),
    ],
)
def test_narrow_and_zoomed_windows_reflow(open_chat: Any, viewport: dict[str, int], scale: int) -> None:
    chat = open_chat(viewport, device_scale_factor=scale)
    chat.say("Is the DWG free?")
    chat.say(
        "Please pass this on: https://www.ncetm.org.uk/maths-hubs/find-your-local-maths-hub/a-very-long-path"
    )
    _composer_in_view(chat.page)
    wide = chat.page.evaluate(
        """() => [...document.querySelectorAll('#log *')].filter(
            (el) => el.getBoundingClientRect().right > innerWidth + 1).map((el) => el.tagName)"""
    )
    assert wide == [], f"content wider than the window: {wide}"


def test_over_long_input_is_warned_before_sending_and_never_cut(open_chat: Any) -> None:
    chat = open_chat()
    count = chat.page.locator("#count")
    chat.box.fill("word " * 100)
    expect(count).to_be_hidden()
    chat.box.fill("a" * 3700)
    expect(count).to_be_visible()
    expect(count).to_have_text("3,700 of 4,000 characters")
    too_long = "mid-word " * 500  # 4,500 characters
    chat.box.fill(too_long)
    expect(count).to_contain_text("500 over the limit of 4,000")
    expect(chat.box).to_have_attribute("aria-invalid", "true")
    expect(chat.page.locator("#status")).to_contain_text("over the 4,000-character limit")
    chat.box.press("Enter")
    chat.page.locator("#send").click()
    assert chat.users().count() == 0  # nothing was sent
    assert chat.box.input_value() == too_long  # and nothing was cut
    expect(chat.box).to_be_focused()
    chat.box.fill(too_long[:3990])
    expect(chat.box).not_to_have_attribute("aria-invalid", "true")
    chat.box.press("Enter")
    expect(chat.users()).to_have_count(1, timeout=WAIT_MS)
    expect(chat.users().last.locator(".bubble")).to_have_text(too_long[:3990].strip())


def test_a_reload_restores_the_conversation_and_resumes_the_interview(open_chat: Any) -> None:
    chat = open_chat(PHONE)
    chat.say("Is the DWG free?")
    chat.press("Which programme fits me?")
    chat.press("Secondary")
    expect(chat.bot().last).to_contain_text("Where is your school?")
    shown = chat.page.locator("#log").inner_text()
    bots = chat.bot().count()

    chat.page.reload()
    chat.ready()
    expect(chat.bot()).to_have_count(bots)
    assert chat.page.locator("#log").inner_text() == shown
    assert chat.users().count() == 3
    # Earlier buttons are spent, the one pressed still marked; the current question's buttons work.
    expect(chat.page.locator("#log button.picked", has_text="Secondary")).to_be_disabled()
    expect(chat.bot().last.locator("button", has_text="England")).to_be_enabled()
    expect(chat.bot().first.locator("button", has_text="Which programme fits me?")).to_have_class(
        re.compile("picked")
    )
    expect(chat.page.locator("#log button:enabled", has_text="Secondary")).to_have_count(0)
    nxt = chat.press("England")
    expect(nxt).to_contain_text("state-funded")

    # A new conversation is really new, and stays new after a reload.
    chat.page.locator("#restart").click()
    expect(chat.bot()).to_have_count(1, timeout=WAIT_MS)
    expect(chat.bot().first).to_contain_text("Hello!")
    expect(chat.page.locator("#send")).to_be_enabled()
    chat.page.reload()
    chat.ready()
    expect(chat.bot()).to_have_count(1)
    assert chat.users().count() == 0
    expect(chat.say("no")).not_to_contain_text("choose one of the options")


def test_a_reload_after_the_recommendation_keeps_its_details_behind_the_disclosure(open_chat: Any) -> None:
    chat = open_chat()
    more = _recommendation(chat).locator("details.more")
    more.locator("summary").click()
    expect(more.locator(".panel")).to_contain_text("don't fit", timeout=WAIT_MS)
    chat.page.reload()
    chat.ready()
    more = chat.bot().last.locator("details.more")
    expect(more).not_to_have_attribute("open", "")
    more.locator("summary").click()
    expect(more.locator(".panel")).to_contain_text("don't fit")
    assert more.locator(".panel-part").count() >= 2  # restored, not asked for twice


def _recommendation(chat: Chat) -> Locator:
    """The interview by buttons: a secondary classroom teacher in England, "No" to the rest."""
    chat.press("Which programme fits me?")
    for answer in ("Secondary", "England", "State-funded", "Classroom teacher"):
        chat.press(answer)
    for _ in range(6):
        if chat.bot().last.locator("details.more").count():
            return chat.bot().last
        chat.press("No")
    pytest.fail(f"no recommendation after the questions: {chat.last_text()}")


def _axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => { const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)})); }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("viewport", SIZES)
def test_axe_finds_no_serious_accessibility_violation(open_chat: Any, viewport: dict[str, int]) -> None:
    # axe-core is a page script: the page's policy lets the test inject it (bypass_csp), nobody else.
    chat = open_chat(viewport, bypass_csp=True)
    chat.say("Is the DWG free?")
    chat.say("is it free?")
    _recommendation(chat).locator("details.more summary").click()
    expect(chat.bot().last.locator(".panel")).to_contain_text("don't fit", timeout=WAIT_MS)
    chat.box.fill("x" * 4100)
    expect(chat.page.locator("#count")).to_be_visible()
    assert _axe(chat.page) == []
    chat.page.emulate_media(reduced_motion="reduce")
    assert _axe(chat.page) == []
