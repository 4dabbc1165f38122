"""Command line: `python -m bot validate|ask|chat|serve|unanswered|suggestions|migrate|recommend`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.clock import SYSTEM_CLOCK, Clock, local_date
from bot.messages import ConversationKey, Inbound, Reply
from bot.settings import Settings

IN_MEMORY = "sqlite+aiosqlite://"


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "knowledge_dir", None):
        overrides["knowledge_dir"] = args.knowledge_dir
    return Settings(**overrides)


def cmd_validate(args: argparse.Namespace) -> int:
    from knowledge.loader import check_knowledge

    knowledge, problems = check_knowledge(Path(args.knowledge_dir) if args.knowledge_dir else None)
    for problem in problems:
        print(problem, file=sys.stderr)
    if knowledge is None:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(
        f"knowledge OK: {len(knowledge.programmes)} programmes, {len(knowledge.faq)} FAQ entries, "
        f"{sum(len(e.phrasings) + 1 for e in knowledge.faq)} phrasings, {len(knowledge.sources)} sources"
    )
    return 0


def _render_text(replies: Sequence[Reply], numbered: bool) -> str:
    lines: list[str] = []
    for reply in replies:
        lines.append(reply.text)
        for link in reply.links:
            lines.append(f"  {link.label}: {link.url}")
        if numbered and reply.choices:
            for index, choice in enumerate(reply.choices, start=1):
                lines.append(f"  [{index}] {choice.label}")
    return "\n".join(lines)


async def _ask(args: argparse.Namespace, stdin: TextIO, stdout: TextIO, clock: Clock) -> int:
    from bot.app import build_services

    settings = _settings(args).model_copy(update={"database_url": args.database_url or IN_MEMORY})
    services = build_services(settings, clock=clock)
    await services.store.open()
    try:
        if args.question:
            key = ConversationKey("cli", "", "cli-user", uuid.uuid4().hex)
            replies = await services.engine.handle(Inbound(key=key, text=" ".join(args.question)))
            print(_render_text(replies, numbered=False), file=stdout)
            return 0
        for line in stdin:
            question = line.rstrip("\n")
            if not question.strip():
                continue
            key = ConversationKey("cli", "", "cli-user", uuid.uuid4().hex)
            replies = await services.engine.handle(Inbound(key=key, text=question))
            main = next((r for r in replies if r.kind == "answer"), replies[0] if replies else None)
            record = {
                "question": question,
                "answer": _render_text(replies, numbered=False),
                "faq_id": main.faq_id if main is not None else None,
                "score": float(main.data["score"]) if main is not None and "score" in main.data else None,
                "kind": main.kind if main is not None else None,
            }
            stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            stdout.flush()
        return 0
    finally:
        await services.store.close()


async def _chat(args: argparse.Namespace, clock: Clock) -> int:
    from bot.app import build_services

    services = build_services(_settings(args), clock=clock)
    await services.store.open()
    key = ConversationKey("cli", "", "terminal", uuid.uuid4().hex)
    print("Type your question. Numbers pick an option. Ctrl-D or 'quit' to leave.\n")
    try:
        replies = await services.engine.handle(Inbound(key=key, text="hello"))
        print(_render_text(replies, numbered=True), end="\n\n")
        loop = asyncio.get_running_loop()
        while True:
            try:
                line = await loop.run_in_executor(None, input, "> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if line.strip().lower() in ("quit", "exit"):
                return 0
            replies = await services.engine.handle(Inbound(key=key, text=line))
            print(_render_text(replies, numbered=True), end="\n\n")
    finally:
        await services.store.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot import logs
    from bot.app import create_app

    settings = _settings(args)
    if args.port:
        settings = settings.model_copy(update={"port": args.port})
    logs.configure(settings.log_level, settings.log_format)
    print(f"Web chat on http://localhost:{settings.port}/  (Ctrl-C to stop)", file=sys.stderr)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


async def _unanswered(args: argparse.Namespace) -> int:
    from bot.store.sql import open_for_operator

    store = await open_for_operator(_settings(args))
    if store is None:
        return 1
    try:
        rows = await store.unanswered(limit=args.limit)
    finally:
        await store.close()
    if args.json:
        print(
            json.dumps(
                [
                    {"question": r.question, "count": r.count, "last_seen": r.last_seen.isoformat()}
                    for r in rows
                ]
            )
        )
        return 0
    if not rows:
        print("No unanswered questions recorded.")
        return 0
    print(f"{'count':>5}  {'last seen':<16}  question")
    width = max(40, shutil.get_terminal_size((120, 24)).columns - 25)
    for row in rows:
        question = " ".join(row.question.split())
        shown = question if len(question) <= width else question[: width - 1].rstrip() + "…"
        print(f"{row.count:>5}  {row.last_seen:%Y-%m-%d %H:%M}  {shown}")
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    from bot.store.sql import SqlStore

    store = SqlStore(_settings(args).database_url)
    try:
        await store.open()
    finally:
        await store.close()
    print("database is up to date")
    return 0


def cmd_recommend(args: argparse.Namespace, stdin: TextIO, stdout: TextIO, clock: Clock) -> int:
    """Interview answers as a JSON object on stdin -> the recommendation as JSON (bot/eligibility.py)."""

    from bot.eligibility import parse_answers, recommend
    from knowledge.loader import load_knowledge

    try:
        raw = json.loads(stdin.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        print(f"recommend: standard input is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(raw, dict):
        print('recommend: expected a JSON object of answers, e.g. {"phase": "secondary"}', file=sys.stderr)
        return 2
    knowledge = load_knowledge(Path(args.knowledge_dir) if args.knowledge_dir else None)
    if knowledge.eligibility is None:
        print("recommend: the knowledge directory has no eligibility.yaml", file=sys.stderr)
        return 1
    today = args.today or local_date(clock.now())
    result = recommend(knowledge.eligibility, knowledge.programmes, raw, today)
    stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    _, problems = parse_answers(knowledge.eligibility, raw)
    if problems:  # the recommendation ignores them: say so in the exit status as well as the notes
        print(f"recommend: {len(problems)} answer(s) not understood (see notes)", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--database-url", help="override DATABASE_URL")
    parser.add_argument("--knowledge-dir", help="override KNOWLEDGE_DIR (default: the packaged knowledge)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check all knowledge files; non-zero exit on any problem")
    ask = sub.add_parser("ask", help="answer one question, or one per stdin line as JSON lines")
    ask.add_argument("question", nargs="*")
    sub.add_parser("chat", help="interactive terminal chat")
    serve = sub.add_parser("serve", help="run the web server (web chat, Slack, Teams)")
    serve.add_argument("--port", type=int)
    unanswered = sub.add_parser("unanswered", help="questions the bot could not answer, with counts")
    unanswered.add_argument("--limit", type=int, default=50)
    unanswered.add_argument("--json", action="store_true")
    sub.add_parser("migrate", help="apply database migrations")
    # Enquiries (bot/enquiry_cli.py): tickets list|show|retry|export|purge, erase, worker.
    from bot.enquiry_cli import add_commands

    add_commands(sub)
    # Learning from use (bot/suggestions_cli.py): suggestions list|accept|reject|export.
    from bot import suggestions_cli

    suggestions_cli.add_commands(sub)
    recommend = sub.add_parser("recommend", help="JSON answers on stdin -> which programmes fit, as JSON")
    recommend.add_argument("--today", type=_iso_date, help="the date to check deadlines against (YYYY-MM-DD)")
    return parser


def _iso_date(text: str) -> object:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def main(argv: Sequence[str] | None = None, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """`python -m bot …`. `clock` is the one clock every command reads (tests pass their own)."""
    args = build_parser().parse_args(argv)
    from bot import logs
    from knowledge.loader import KnowledgeError

    if args.command not in ("serve", "worker"):
        # One-shot and interactive commands: readable lines on stderr; for the teacher-facing ones
        # only errors (a server's configuration warnings, e.g. no delivery route, are not theirs).
        quiet = args.command in ("ask", "chat", "recommend", "validate")
        logs.configure("ERROR" if quiet else "WARNING", "text")

    try:
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "ask":
            return asyncio.run(_ask(args, sys.stdin, sys.stdout, clock))
        if args.command == "chat":
            return asyncio.run(_chat(args, clock))
        if args.command == "unanswered":
            return asyncio.run(_unanswered(args))
        if args.command == "migrate":
            return asyncio.run(_migrate(args))
        from bot.enquiry_cli import COMMANDS, run

        if args.command in COMMANDS:
            return run(args, _settings(args), clock=clock)
        from bot import suggestions_cli

        if args.command in suggestions_cli.COMMANDS:
            return suggestions_cli.run(args, _settings(args), clock=clock)
        if args.command == "recommend":
            return cmd_recommend(args, sys.stdin, sys.stdout, clock)
    except KnowledgeError as exc:
        print("The knowledge files have problems; run `python -m bot validate`:", file=sys.stderr)
        print(exc, file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 2
