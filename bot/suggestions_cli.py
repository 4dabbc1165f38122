"""`python -m bot suggestions [list] | accept ID [--faq ENTRY] [--text T] | reject ID | export [--csv F]`.

Suggestions hold masked question text only (no names, emails, phone numbers or user ids).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.clock import SYSTEM_CLOCK, Clock
from bot.settings import Settings
from bot.store.sql import open_for_operator
from bot.suggestions import (
    KIND_LABEL,
    Outcome,
    Suggestion,
    accept,
    list_suggestions,
    reject,
    write_csv,
)
from knowledge.loader import Knowledge, load_knowledge

COMMANDS = ("suggestions",)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "suggestions",
        help="what users' picks, thumbs down and unanswered questions suggest adding to the FAQ",
        description="With no action, lists the open suggestions, grouped by kind and ranked by count.",
    )
    parser.add_argument("--all", action="store_true", help="include accepted, rejected and known ones")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.add_argument("--limit", type=int, default=50, help="rows per kind (default 50)")
    parser.add_argument("--threshold", type=float, help="override SUGGESTION_CLUSTER_THRESHOLD (0-100)")
    actions = parser.add_subparsers(dest="suggestions_command")
    actions.add_parser("list", help="the open suggestions (the default)")
    do_accept = actions.add_parser("accept", help="add the suggested phrasing to the FAQ file")
    do_accept.add_argument("id")
    do_accept.add_argument("--faq", help="the entry to add the wording to (required for unanswered)")
    do_accept.add_argument("--text", help="add this wording instead (e.g. tidied up)")
    do_reject = actions.add_parser("reject", help="hide a suggestion for good")
    do_reject.add_argument("id")
    export = actions.add_parser("export", help="every suggestion as CSV, for a spreadsheet")
    export.add_argument("--csv", type=Path, help="file to write (default: standard output)")


def run(
    args: argparse.Namespace, settings: Settings, stdout: TextIO | None = None, clock: Clock = SYSTEM_CLOCK
) -> int:
    return asyncio.run(run_async(args, settings, stdout or sys.stdout, clock))


async def run_async(
    args: argparse.Namespace, settings: Settings, out: TextIO, clock: Clock = SYSTEM_CLOCK
) -> int:
    knowledge = load_knowledge(settings.knowledge_dir)
    threshold = args.threshold if args.threshold is not None else settings.suggestion_cluster_threshold
    store = await open_for_operator(settings, clock)
    if store is None:
        return 1
    try:
        command = args.suggestions_command or "list"
        if command == "accept":
            outcome = await accept(
                store, knowledge, args.id, faq_id=args.faq, text=args.text, threshold=threshold
            )
            return _report(outcome, out, reload_hint=True)
        if command == "reject":
            return _report(await reject(store, knowledge, args.id, threshold), out)
        if command == "export":
            rows = await list_suggestions(store, knowledge, threshold, everything=True)
            if args.csv is None:
                write_csv(rows, out)
            else:
                with args.csv.open("w", encoding="utf-8", newline="") as handle:
                    write_csv(rows, handle)
                print(f"{len(rows)} suggestion(s) written to {args.csv}", file=out)
            return 0
        rows = await list_suggestions(store, knowledge, threshold, everything=args.all)
        _print(rows, knowledge, args.limit, args.json, out)
        return 0
    finally:
        await store.close()


def _report(outcome: Outcome, out: TextIO, *, reload_hint: bool = False) -> int:
    if not outcome.ok:
        print(f"refused: {outcome.message}", file=sys.stderr)
        for problem in outcome.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(outcome.message, file=out)
    if reload_hint:
        print(
            "knowledge OK; a running server picks the change up within KNOWLEDGE_RELOAD_SECONDS",
            file=out,
        )
    return 0


def _print(rows: Sequence[Suggestion], knowledge: Knowledge, limit: int, as_json: bool, out: TextIO) -> None:
    if as_json:
        items = [
            {
                "id": s.id,
                "kind": s.kind,
                "status": s.status,
                "count": s.count,
                "faq_id": s.faq_id,
                "wording": s.wording,
                "wordings": [{"text": text, "count": n} for text, n in s.wordings],
                "first_seen": s.first_seen.isoformat(timespec="seconds"),
                "last_seen": s.last_seen.isoformat(timespec="seconds"),
                "decided_faq": s.decided_faq,
            }
            for s in rows
        ]
        print(json.dumps(items, ensure_ascii=False), file=out)
        return
    if not rows:
        print("No suggestions to review.", file=out)
        return
    for kind, label in KIND_LABEL.items():
        of_kind = [s for s in rows if s.kind == kind]
        if not of_kind:
            continue
        print(f"\n{label} ({len(of_kind)}): {_hint(kind)}", file=out)
        print(f"  {'id':<10} {'count':>5}  {'status':<8} {'entry':<34} wording", file=out)
        for s in of_kind[:limit]:
            entry = s.faq_id or s.decided_faq or "-"
            print(f"  {s.id:<10} {s.count:>5}  {s.status:<8} {entry:<34} {s.wording}", file=out)
            for text, n in s.wordings:
                if text != s.wording:
                    print(f"  {'':<10} {n:>5}  {'':<8} {'':<34}   ~ {text}", file=out)
        if len(of_kind) > limit:
            print(f"  … and {len(of_kind) - limit} more (--limit)", file=out)
    print(
        f"\n{len(knowledge.faq)} FAQ entries. Accept: `python -m bot suggestions accept ID [--faq ENTRY]`; "
        "reject: `python -m bot suggestions reject ID`.",
        file=out,
    )


def _hint(kind: str) -> str:
    if kind == "pick":
        return "accept adds the wording to the entry the user picked"
    if kind == "unanswered":
        return "accept with --faq ENTRY adds the wording to that entry"
    return "review the entry's answer; accept with --faq ENTRY moves the wording to a better entry"
