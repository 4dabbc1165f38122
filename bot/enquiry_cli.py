"""Operator commands for enquiries: `python -m bot tickets list|show|retry|export|purge|inbox`, `erase`,
`worker`.

`tickets show` and `tickets export` print personal data (they are for the people who handle enquiries);
nothing else here does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import email.policy
import json
import signal
import sys
from collections.abc import Iterable
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, TextIO

from bot.clock import SYSTEM_CLOCK, Clock
from bot.settings import Settings
from bot.store.tickets import Job, Ticket, TicketStore, find_reference

COMMANDS = ("tickets", "erase", "worker")
EXPORT_COLUMNS = (
    "reference",
    "created_at",
    "status",
    "hub_id",
    "destination",
    "manual_routing",
    "routing_reason",
    "suggested_hub_id",
    "local_authority",
    "school_urn",
    "school",
    "programme",
    "name",
    "email",
    "role",
    "question",
    "delivered_at",
)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tickets = sub.add_parser("tickets", help="enquiry tickets: list, show, retry, export, purge")
    actions = tickets.add_subparsers(dest="tickets_command", required=True)
    listing = actions.add_parser("list", help="recent tickets with their delivery state (no personal data)")
    listing.add_argument("--status", choices=("pending", "delivered", "failed"))
    listing.add_argument("--hub", help="hub id, or 'default' for the national route")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one ticket in full, with its delivery attempts")
    show.add_argument("reference")
    retry = actions.add_parser("retry", help="queue a ticket's failed deliveries again, now")
    retry.add_argument("reference")
    export = actions.add_parser("export", help="CSV of every ticket routed to a hub")
    export.add_argument("--hub", required=True, help="hub id, or 'default' for the national route")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    inbox = actions.add_parser(
        "inbox", help="enquiries delivered to the local mailbox folder (no delivery route configured)"
    )
    inbox.add_argument("reference", nargs="?", help="open this one (default: list them all)")
    purge = actions.add_parser("purge", help="delete delivered tickets older than N days")
    purge.add_argument("--older-than-days", type=int, required=True)
    erase = sub.add_parser("erase", help="remove a person's conversations and tickets (see docs)")
    erase.add_argument(
        "--user", required=True, help="PLATFORM:USER_ID as in tickets, e.g. web:u1, slack:T1:U2"
    )
    worker = sub.add_parser("worker", help="run the enquiry outbox worker (delivery to hubs)")
    worker.add_argument("--once", action="store_true", help="deliver what is due now, then stop")


def run(
    args: argparse.Namespace, settings: Settings, stdout: TextIO | None = None, clock: Clock = SYSTEM_CLOCK
) -> int:
    stdout = stdout or sys.stdout
    if args.command == "tickets":
        return asyncio.run(_tickets(args, settings, stdout, clock))
    if args.command == "erase":
        return asyncio.run(_erase(args, settings, stdout, clock))
    return asyncio.run(_worker(args, settings, clock))


async def _tickets(args: argparse.Namespace, settings: Settings, out: TextIO, clock: Clock) -> int:
    from bot.store.sql import open_for_operator

    if args.tickets_command == "inbox":
        return _inbox(settings.enquiry_mailbox_dir, args.reference, out)
    store = await open_for_operator(settings, clock)
    if store is None:
        return 1
    tickets = TicketStore(store)
    try:
        command = args.tickets_command
        if command == "list":
            rows = await tickets.list_tickets(status=args.status, hub_id=args.hub, limit=args.limit)
            _print_list(rows, args.json, out)
            return 0
        if command == "purge":
            count = await tickets.purge(dt.timedelta(days=args.older_than_days))
            drafts = await tickets.discard_enquiry_drafts(dt.timedelta(hours=settings.enquiry_draft_hours))
            print(
                f"purged {count} delivered ticket(s); cleared {drafts} unfinished enquiry draft(s)", file=out
            )
            return 0
        if command == "export":
            rows_out = await tickets.export(args.hub)
            if args.output is not None:
                with args.output.open("w", encoding="utf-8", newline="") as handle:
                    _write_csv(rows_out, handle)
                print(f"wrote {len(rows_out)} ticket(s) to {args.output}", file=sys.stderr)
            else:
                _write_csv(rows_out, out)
            return 0
        reference = find_reference(args.reference)
        if reference is None:
            print(f"not a ticket reference: {args.reference!r} (like LLME-2026-000123)", file=sys.stderr)
            return 2
        if command == "show":
            found = await tickets.get(reference)
            if found is None:
                print(f"no ticket {reference}", file=sys.stderr)
                return 1
            _print_ticket(*found, out)
            return 0
        from bot.outbox import DeliveryRoutes

        routes = DeliveryRoutes.from_settings(settings)
        found = await tickets.get(reference)
        targets = routes.targets_for(found[0].hub_id) if found is not None else []
        queued = await tickets.retry(reference, targets)
        if queued is None:
            print(f"no ticket {reference}", file=sys.stderr)
            return 1
        print(f"{reference}: {queued} delivery job(s) queued", file=out)
        return 0
    finally:
        await store.close()


async def _erase(args: argparse.Namespace, settings: Settings, out: TextIO, clock: Clock) -> int:
    from bot.store.sql import open_for_operator

    user = args.user.strip()
    if ":" not in user:
        print("give the user as PLATFORM:USER_ID (e.g. web:u1 or slack:T1:U2)", file=sys.stderr)
        return 2
    store = await open_for_operator(settings, clock)
    if store is None:
        return 1
    try:
        result = await TicketStore(store).erase_owner(user)
        rows = await store.erase_user(user)
    finally:
        await store.close()
    print(
        f"erased {rows} conversation(s) and record(s) of what they typed; "
        f"deleted {result.deleted} undelivered ticket(s); "
        f"anonymised {result.anonymised} delivered ticket(s)",
        file=out,
    )
    return 0


async def _worker(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot import logs
    from bot.outbox import build_worker
    from bot.store.sql import SqlStore
    from knowledge.loader import load_knowledge

    logs.configure(settings.log_level, settings.log_format)
    knowledge = load_knowledge(settings.knowledge_dir)
    store = SqlStore.from_settings(settings, clock)
    if settings.migrate_on_start:
        await store.open()
    from adapters.slack.delivery import delivery_channels

    worker = build_worker(
        settings, TicketStore(store), lambda: knowledge, extra_channels=delivery_channels(settings)
    )
    try:
        if args.once:
            while await worker.run_once() >= worker.batch_size:
                pass
            await worker.housekeeping(force=True)
            await worker.close()
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await worker.run(stop)
        return 0
    finally:
        await store.close()


def _print_list(rows: Iterable[tuple[Ticket, list[Job]]], as_json: bool, out: TextIO) -> None:
    items: list[dict[str, Any]] = [
        {
            "reference": t.reference,
            "created_at": t.created_at.isoformat(timespec="seconds"),
            "status": t.status,
            "hub_id": t.hub_id or "default",
            "manual_routing": t.manual_routing,
            "attempts": sum(j.attempts for j in jobs),
            "channels": ",".join(f"{j.channel}:{j.status}" for j in jobs),
        }
        for t, jobs in rows
    ]
    if as_json:
        print(json.dumps(items), file=out)
        return
    if not items:
        print("No tickets.", file=out)
        return
    print(
        f"{'reference':<18} {'created (UTC)':<20} {'status':<10} {'hub':<26} {'manual':<6} channels", file=out
    )
    for i in items:
        manual = "yes" if i["manual_routing"] else ""
        print(
            f"{i['reference']:<18} {i['created_at'][:19]:<20} {i['status']:<10} {i['hub_id']:<26} "
            f"{manual:<6} {i['channels']}",
            file=out,
        )


def _print_ticket(ticket: Ticket, jobs: list[Job], out: TextIO) -> None:
    fields = [
        ("Reference", ticket.reference),
        ("Status", ticket.status),
        ("User", ticket.owner_ref),  # what `erase --user` takes
        ("Created", ticket.created_at.isoformat(timespec="seconds")),
        ("Delivered", ticket.delivered_at.isoformat(timespec="seconds") if ticket.delivered_at else ""),
        ("Hub", f"{ticket.destination} ({ticket.hub_id or 'default route'})"),
        ("Routing", f"{'manual' if ticket.manual_routing else 'direct'} ({ticket.routing_reason})"),
        ("Suggested hub", ticket.suggested_hub_id or ""),
        (
            "School",
            f"{ticket.school or ''} {f'URN {ticket.school_urn}' if ticket.school_urn else ''}".strip(),
        ),
        ("Local authority", ticket.local_authority or ""),
        ("Programme", ticket.programme or ""),
        ("Name", ticket.name or ("[erased]" if ticket.anonymised_at else "")),
        ("Email", ticket.email or ""),
        ("Role", ticket.role or ""),
        ("Question", ticket.question or ""),
    ]
    for label, value in fields:
        print(f"{label + ':':<17}{value}", file=out)
    print("Deliveries:", file=out)
    for job in jobs:
        line = f"  #{job.id} {job.channel} -> {job.target or '(none configured)'}: {job.status}, "
        line += f"{job.attempts} attempt(s)"
        if job.status == "pending":
            line += f", next {job.next_attempt_at.isoformat(timespec='seconds')}"
        if job.last_error:
            line += f", last error: {job.last_error}"
        print(line, file=out)


def _inbox(folder: Path, reference: str | None, out: TextIO) -> int:
    """List the .eml files in the local mailbox folder, or print one as plain text."""
    files = sorted(folder.glob("*.eml"), key=lambda f: (f.stat().st_mtime, f.name)) if folder.is_dir() else []
    if reference is None:
        print(f"mailbox: {folder}", file=sys.stderr)
        if not files:
            print("no enquiries in the local mailbox", file=out)
            return 0
        for path in files:
            message = _read_eml(path)
            print(f"{path.stem:<24} {message['Date'] or '':<31} {message['Subject'] or ''}", file=out)
        return 0
    wanted = reference.strip().upper()
    found = next((f for f in files if f.stem.upper() == wanted), None)
    if found is None:
        print(f"no message {reference} in {folder}", file=sys.stderr)
        return 1
    path = found
    message = _read_eml(path)
    for header in ("From", "To", "Reply-To", "Date", "Subject"):
        if message[header]:
            print(f"{header}: {message[header]}", file=out)
    body = message.get_body(preferencelist=("plain",))
    print("", file=out)
    print(body.get_content() if body is not None else "", file=out)
    print(f"(file: {path})", file=out)
    return 0


def _read_eml(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=email.policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


def _write_csv(tickets: Iterable[Ticket], handle: TextIO) -> None:
    writer = csv.writer(handle)
    writer.writerow(EXPORT_COLUMNS)
    for ticket in tickets:
        values = {
            **{c: getattr(ticket, c) for c in EXPORT_COLUMNS},
            "created_at": ticket.created_at.isoformat(timespec="seconds"),
            "delivered_at": ticket.delivered_at.isoformat(timespec="seconds") if ticket.delivered_at else "",
        }
        writer.writerow([_cell(values[c]) for c in EXPORT_COLUMNS])


def _cell(value: object) -> str:
    """Text for a spreadsheet cell; a leading = + - @ is neutralised so no formula ever runs."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
