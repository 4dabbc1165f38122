"""Durable delivery of enquiry tickets to Maths Hubs: the outbox worker and its channels.

A ticket's delivery jobs are written with the ticket (one transaction, before the teacher sees the
reference). Workers claim due jobs under a lease, deliver, and record the outcome: retries with
exponential backoff and jitter, a dead letter after `max_attempts`. Each delivery carries the ticket's
idempotency key (email Message-ID, webhook `Idempotency-Key`, Slack message metadata), so a receiver
can drop the rare duplicate left by a worker that crashed between sending and recording.

Channels: email over SMTP (aiosmtplib), an HTTPS webhook with an HMAC-signed JSON body, and a Slack
channel post. Logs carry ticket, job and hub ids only, never personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import html
import json
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import aiosmtplib

from bot.settings import HubRoute, Settings
from bot.store.tickets import ClaimedJob, DeliveryTarget, Ticket, TicketStore
from knowledge.enquiry import DeliveryTexts, EnquiryTexts
from knowledge.loader import Knowledge

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature-256"
STOP_TIMEOUT_SECONDS = 10.0
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(Exception):
    """A delivery attempt failed. `permanent`: retrying the same thing cannot succeed."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# -- routes ----------------------------------------------------------------------------------------


class DeliveryRoutes:
    """Which channels deliver a hub's enquiries. A hub without its own route uses the default route."""

    def __init__(
        self,
        hubs: Mapping[str, HubRoute],
        default: HubRoute,
        *,
        slack_enabled: bool = False,
        mailbox: Path | None = None,
    ) -> None:
        self._hubs = dict(hubs)
        self._default = default
        self._slack = slack_enabled
        self._mailbox = mailbox  # where the default route delivers when it has no channel of its own

    @classmethod
    def from_settings(cls, settings: Settings, hub_ids: Sequence[str] | None = None) -> DeliveryRoutes:
        hubs = settings.all_hub_routes()
        if hub_ids is not None:
            unknown = sorted(set(hubs) - set(hub_ids))
            if unknown:
                raise ValueError(f"HUB_ROUTES names unknown hub id(s): {', '.join(unknown)}")
        default = HubRoute(
            email=settings.enquiry_default_email,
            webhook_url=settings.enquiry_default_webhook_url,
            slack_channel=settings.enquiry_default_slack_channel,
        )
        routes = cls(
            hubs,
            default,
            slack_enabled=bool(settings.slack_bot_token),
            mailbox=settings.enquiry_mailbox_dir,
        )
        if routes.uses_mailbox:
            # The embedded default: enquiries arrive as files an operator reads, never nowhere.
            log.warning("enquiries_to_local_mailbox", extra={"folder": str(settings.enquiry_mailbox_dir)})
        return routes

    @property
    def uses_mailbox(self) -> bool:
        return self._mailbox is not None and not self._targets(self._default)

    def targets_for(self, hub_id: str | None) -> list[DeliveryTarget]:
        route = self._hubs.get(hub_id) if hub_id is not None else None
        targets = self._targets(route) if route is not None else []
        targets = targets or self._targets(self._default)
        if not targets and self._mailbox is not None:
            targets = [DeliveryTarget("mailbox", str(self._mailbox))]
        return targets

    def webhook_secret(self, url: str, fallback: str | None) -> str | None:
        for route in (*self._hubs.values(), self._default):
            if route.webhook_url == url and route.webhook_secret is not None:
                return route.webhook_secret.get_secret_value()
        return fallback

    def _targets(self, route: HubRoute) -> list[DeliveryTarget]:
        out: list[DeliveryTarget] = []
        if route.email:
            out.append(DeliveryTarget("email", str(route.email)))
        if route.webhook_url:
            out.append(DeliveryTarget("webhook", route.webhook_url))
        if route.slack_channel and self._slack:
            out.append(DeliveryTarget("slack", route.slack_channel))
        return out


# -- what a hub receives ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EnquiryMessage:
    """One ticket rendered for hub staff. All teacher text is plain; HTML output escapes it."""

    ticket: Ticket
    texts: DeliveryTexts
    labels: Mapping[str, str]
    programme_name: str
    suggested_hub: str | None

    @classmethod
    def of(cls, ticket: Ticket, knowledge: Knowledge) -> EnquiryMessage:
        if knowledge.enquiry is None:
            raise DeliveryError("the knowledge has no enquiry texts (enquiry.yaml)")
        texts: EnquiryTexts = knowledge.enquiry.texts
        programme = knowledge.programmes.get(ticket.programme or "")
        suggested = knowledge.enquiry.hub_by_id.get(ticket.suggested_hub_id or "")
        return cls(
            ticket=ticket,
            texts=texts.delivery,
            labels=texts.field_labels.model_dump(),
            programme_name=programme.name if programme is not None else texts.programme_other,
            suggested_hub=suggested.display_name if suggested is not None else None,
        )

    @property
    def subject(self) -> str:
        template = self.texts.subject_manual if self.ticket.manual_routing else self.texts.subject
        return template.format(reference=self.ticket.reference, programme=self.programme_name)

    def rows(self) -> list[tuple[str, str]]:
        t, labels = self.ticket, self.labels
        rows = [
            (self.texts.reference_label, t.reference),
            (self.texts.hub_label, t.destination),
            (self.texts.routing_label, "manual" if t.manual_routing else "direct"),
            (labels["name"], t.name or ""),
            (labels["email"], t.email or ""),
            (labels["role"], t.role or ""),
            (labels["school"], t.school or ""),
            (self.texts.school_urn_label, t.school_urn or ""),
            (self.texts.school_la_label, t.local_authority or ""),
            (labels["programme"], self.programme_name),
        ]
        return [(label, value) for label, value in rows if value]

    def notes(self) -> list[str]:
        notes = [self.texts.intro]
        if self.ticket.manual_routing:
            notes.append(self.texts.manual_note)
            if self.suggested_hub:
                notes.append(self.texts.suggested_hub.format(hub=self.suggested_hub))
        return notes

    def plain(self) -> str:
        lines = [*self.notes(), ""]
        lines += [f"{label}: {value}" for label, value in self.rows()]
        lines += ["", f"{self.labels['question']}:", self.ticket.question or "", "", self.texts.footer]
        return "\n".join(lines)

    def html(self) -> str:
        e = html.escape
        notes = "".join(f"<p>{e(n)}</p>" for n in self.notes())
        rows = "".join(
            f'<tr><th align="left" valign="top">{e(label)}</th><td>{e(value)}</td></tr>'
            for label, value in self.rows()
        )
        question = e(self.ticket.question or "")
        return (
            '<!DOCTYPE html><html><body style="font-family: sans-serif">'
            f'{notes}<table cellpadding="4">{rows}</table>'
            f"<h3>{e(self.labels['question'])}</h3>"
            f'<p style="white-space: pre-wrap">{question}</p>'
            f"<p>{e(self.texts.footer)}</p></body></html>"
        )

    def json_body(self) -> bytes:
        t = self.ticket
        body = {
            "reference": t.reference,
            "idempotency_key": t.idempotency_key,
            "created_at": t.created_at.isoformat(),
            "hub": {"id": t.hub_id, "name": t.destination},
            "manual_routing": t.manual_routing,
            "routing_reason": t.routing_reason,
            "suggested_hub_id": t.suggested_hub_id,
            "enquirer": {"name": t.name, "email": t.email, "role": t.role},
            "school": {"name": t.school, "urn": t.school_urn, "local_authority": t.local_authority},
            "programme": {"id": t.programme, "name": self.programme_name},
            "question": t.question,
        }
        # Fixed key order: a retry sends byte-identical JSON with the same signature.
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def slack_text(self) -> str:
        def esc(text: str) -> str:  # the three characters Slack's mrkdwn requires escaped
            return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        lines = [f"*{esc(self.subject)}*", *(esc(n) for n in self.notes())]
        lines += [f"*{esc(label)}:* {esc(value)}" for label, value in self.rows()]
        lines += [f"*{esc(self.labels['question'])}:*", esc(self.ticket.question or "")]
        return "\n".join(lines)


def sign(secret: str, body: bytes) -> str:
    """The `X-Signature-256` value: `sha256=` + HMAC-SHA256 of the raw body, hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# -- channels --------------------------------------------------------------------------------------


class DeliveryChannel(Protocol):
    async def deliver(self, message: EnquiryMessage, target: str) -> None: ...

    async def close(self) -> None: ...


def build_email(message: EnquiryMessage, target: str, sender: str) -> EmailMessage:
    """The RFC 5322 message a hub receives, whether sent by SMTP or written to the local mailbox."""
    ticket = message.ticket
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mastery-assistant.invalid"
    email = EmailMessage()
    email["From"] = sender
    email["To"] = target
    if ticket.email:
        email["Reply-To"] = ticket.email
    email["Subject"] = message.subject
    email["Date"] = formatdate(usegmt=True)
    # The idempotency key: the same ticket always has the same Message-ID.
    email["Message-ID"] = f"<{ticket.idempotency_key}@{domain}>"
    email["X-Enquiry-Reference"] = ticket.reference
    email.set_content(message.plain())
    email.add_alternative(message.html(), subtype="html")
    return email


class EmailChannel:
    # Codes that are about our own credentials: fixable without touching the ticket, so keep retrying.
    _AUTH_CODES = frozenset({530, 534, 535})

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def build(self, message: EnquiryMessage, target: str) -> EmailMessage:
        return build_email(message, target, self._settings.smtp_from)

    async def deliver(self, message: EnquiryMessage, target: str) -> None:
        await self.send(self.build(message, target))

    async def send(self, email: EmailMessage) -> None:
        s = self._settings
        try:
            await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_tls,
                start_tls=True if s.smtp_starttls else None,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(
                f"recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600 and exc.code not in self._AUTH_CODES
            raise DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=permanent) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"SMTP unavailable: {type(exc).__name__}") from exc

    async def close(self) -> None:
        return None


MAILBOX_CHANNEL = "mailbox"
LOCAL_RECIPIENT = "enquiries@localhost"


class MailboxChannel:
    """Enquiries as standard .eml files in a local folder: the embedded default, readable by any mail
    client or `python -m bot tickets inbox`. One file per ticket, named by its reference, written to a
    temporary name and renamed, so a retry replaces the file instead of adding a second copy and a
    reader never sees half a message. The job's target is the folder."""

    def __init__(self, sender: str) -> None:
        self._sender = sender

    async def deliver(self, message: EnquiryMessage, target: str) -> None:
        email = build_email(message, LOCAL_RECIPIENT, self._sender)
        try:
            await asyncio.to_thread(write_eml, Path(target), message.ticket.reference, email)
        except OSError as exc:
            raise DeliveryError(f"mailbox folder not writable: {type(exc).__name__}") from exc

    async def close(self) -> None:
        return None


def write_eml(folder: Path, name: str, email: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{name}.eml"
    partial = folder / f".{name}.{uuid.uuid4().hex}.tmp"
    try:
        with partial.open("wb") as handle:
            handle.write(email.as_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return final


class WebhookChannel:
    """POST the JSON body to the hub's URL, signed with HMAC-SHA256 over the raw bytes."""

    _RETRY_STATUSES = frozenset({408, 425, 429})

    def __init__(self, secret_for: Callable[[str], str | None], timeout_seconds: float) -> None:
        self._secret_for = secret_for
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def deliver(self, message: EnquiryMessage, target: str) -> None:
        secret = self._secret_for(target)
        if not secret:
            raise DeliveryError("no webhook secret configured", permanent=True)
        body = message.json_body()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: message.ticket.idempotency_key,
            SIGNATURE_HEADER: sign(secret, body),
            "X-Enquiry-Reference": message.ticket.reference,
            "User-Agent": "mastery-assistant-outbox/1",
        }
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(target, data=body, headers=headers, allow_redirects=False) as resp:
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
        if 200 <= status < 300:
            return
        permanent = 300 <= status < 500 and status not in self._RETRY_STATUSES
        raise DeliveryError(f"webhook answered HTTP {status}", permanent=permanent)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


# -- telling operators ------------------------------------------------------------------------------


class DeadLetterAlert:
    """A ticket that cannot be delivered is never silent: an error-level log line with its reference,
    a metric, and a message to the operators (ENQUIRY_ALERT_EMAIL by SMTP, otherwise an ALERT-….eml in
    the local mailbox folder). The alert carries no personal data; operators open the ticket itself."""

    def __init__(self, settings: Settings, count: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._count = count

    async def __call__(self, ticket: Ticket, job_channel: str, error: str) -> None:
        log.error(
            "enquiry_dead_lettered",
            extra={
                "reference": ticket.reference,
                "ticket_id": ticket.id,
                "hub_id": ticket.hub_id,
                "channel": job_channel,
            },
        )
        if self._count is not None:
            self._count()
        email = self.build(ticket, job_channel, error)
        try:
            if self._settings.enquiry_alert_email is not None:
                await EmailChannel(self._settings).send(email)
            else:
                await asyncio.to_thread(
                    write_eml, self._settings.enquiry_mailbox_dir, f"ALERT-{ticket.reference}", email
                )
        except (DeliveryError, OSError):
            log.error("enquiry_alert_failed", extra={"reference": ticket.reference}, exc_info=True)

    def build(self, ticket: Ticket, job_channel: str, error: str) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._settings.smtp_from
        email["To"] = str(self._settings.enquiry_alert_email or LOCAL_RECIPIENT)
        email["Subject"] = f"Enquiry {ticket.reference} could not be delivered"
        email["Date"] = formatdate(usegmt=True)
        email["X-Enquiry-Reference"] = ticket.reference
        email.set_content(
            "\n".join(
                [
                    f"Enquiry {ticket.reference} for {ticket.destination} could not be delivered "
                    f"by {job_channel} and will not be retried automatically.",
                    f"Last error: {error}",
                    "",
                    "The teacher is told that the operators have been alerted. Please forward it by hand",
                    f"(python -m bot tickets show {ticket.reference}) or fix the route and run",
                    f"python -m bot tickets retry {ticket.reference}.",
                ]
            )
        )
        return email


# -- the worker ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    base_seconds: float = 30.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with 'equal jitter': half the step fixed, half random."""
        step = min(self.max_seconds, self.base_seconds * float(2 ** max(0, attempts - 1)))
        jitter: float = (rng or random).uniform(0, step / 2)
        return step / 2 + jitter


class OutboxWorker:
    def __init__(
        self,
        tickets: TicketStore,
        channels: Mapping[str, DeliveryChannel],
        knowledge: Callable[[], Knowledge],
        *,
        policy: RetryPolicy | None = None,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 10,
        poll_seconds: float = 2.0,
        retention: dt.timedelta | None = None,
        draft_expiry: dt.timedelta | None = None,
        learning_retention: dt.timedelta | None = None,
        transcript_retention: dt.timedelta | None = None,
        alert: Callable[[Ticket, str, str], Awaitable[None]] | None = None,
        name: str | None = None,
    ) -> None:
        self.tickets = tickets
        self.channels = dict(channels)
        self._knowledge = knowledge
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.draft_expiry = draft_expiry
        self.alert = alert
        self.learning_retention = learning_retention
        self.transcript_retention = transcript_retention
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._next_housekeeping: dt.datetime | None = None

    async def run_once(self) -> int:
        """Claim one batch of due jobs and deliver them. Returns how many jobs were handled."""
        claimed = await self.tickets.claim(self.batch_size, self.lease)
        if claimed:
            await asyncio.gather(*(self._deliver(job) for job in claimed))
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set. Errors (database down...) are logged and retried after a pause."""
        log.info("outbox_worker_started", extra={"worker": self.name})
        try:
            while not stop.is_set():
                handled = 0
                try:
                    handled = await self.run_once()
                    await self.housekeeping()
                except Exception:
                    log.exception("outbox_worker_error", extra={"worker": self.name})
                if handled >= self.batch_size:
                    continue  # more may be waiting
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        finally:
            await self.close()
            log.info("outbox_worker_stopped", extra={"worker": self.name})

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()

    async def housekeeping(self, force: bool = False) -> None:
        """At most hourly: purge old delivered tickets, stale unfinished enquiries and old learning
        records (data minimisation)."""
        now = self.tickets.clock.now()
        if not force and self._next_housekeeping is not None and now < self._next_housekeeping:
            return
        self._next_housekeeping = now + dt.timedelta(hours=1)
        if self.retention is not None:
            await self.tickets.purge(self.retention)
        if self.draft_expiry is not None:
            await self.tickets.discard_enquiry_drafts(self.draft_expiry)
        if self.learning_retention is not None:
            await self.tickets.purge_learning(self.learning_retention)
        if self.transcript_retention is not None:
            await self.tickets.purge_transcripts(self.transcript_retention)

    async def _deliver(self, claimed: ClaimedJob) -> None:
        job, ticket = claimed.job, claimed.ticket
        context = {
            "ticket_id": ticket.id,
            "job_id": job.id,
            "hub_id": ticket.hub_id,
            "channel": job.channel,
            "attempt": job.attempts,
        }
        try:
            if job.attempts > self.policy.max_attempts:
                raise DeliveryError("gave up: workers stopped during earlier attempts", permanent=True)
            channel = self.channels.get(job.channel)
            if channel is None:
                raise DeliveryError(f"no '{job.channel}' delivery channel configured", permanent=True)
            await channel.deliver(EnquiryMessage.of(ticket, self._knowledge()), job.target)
        except Exception as exc:
            error = exc if isinstance(exc, DeliveryError) else DeliveryError(f"{type(exc).__name__}")
            if not isinstance(exc, DeliveryError):
                log.warning("delivery_unexpected_error", extra=context, exc_info=True)
            await self._failed(claimed, error, context)
            return
        if await self.tickets.complete(job):
            log.info("delivery_ok", extra=context)
        else:
            log.warning("delivery_claim_lost", extra=context)

    async def _failed(self, claimed: ClaimedJob, error: DeliveryError, context: dict[str, Any]) -> None:
        job = claimed.job
        if error.permanent or job.attempts >= self.policy.max_attempts:
            await self.tickets.fail(job, str(error), None)
            log.warning("delivery_dead_lettered", extra={**context, "permanent": error.permanent})
            if self.alert is not None:
                await self.alert(claimed.ticket, job.channel, str(error))
            return
        delay = self.policy.delay(job.attempts)
        await self.tickets.fail(job, str(error), dt.timedelta(seconds=delay))
        log.info("delivery_retry", extra={**context, "retry_in_s": round(delay, 1)})


def build_channels(
    settings: Settings, routes: DeliveryRoutes, extra: Mapping[str, DeliveryChannel] | None = None
) -> dict[str, DeliveryChannel]:
    """Email and webhook channels, plus platform channels (Slack) supplied by the wiring."""
    fallback = settings.enquiry_webhook_secret.get_secret_value() if settings.enquiry_webhook_secret else None
    channels: dict[str, DeliveryChannel] = {
        "email": EmailChannel(settings),
        MAILBOX_CHANNEL: MailboxChannel(settings.smtp_from),
        "webhook": WebhookChannel(
            lambda url: routes.webhook_secret(url, fallback), settings.webhook_timeout_seconds
        ),
    }
    channels.update(extra or {})
    return channels


def build_worker(
    settings: Settings,
    tickets: TicketStore,
    knowledge: Callable[[], Knowledge],
    *,
    extra_channels: Mapping[str, DeliveryChannel] | None = None,
    count_dead_letter: Callable[[], None] | None = None,
    **overrides: Any,
) -> OutboxWorker:
    enquiry = knowledge().enquiry
    routes = DeliveryRoutes.from_settings(settings, [h.id for h in enquiry.hubs.hubs] if enquiry else None)
    options: dict[str, Any] = {
        "policy": RetryPolicy(
            settings.outbox_max_attempts, settings.outbox_backoff_seconds, settings.outbox_backoff_max_seconds
        ),
        "lease": dt.timedelta(seconds=settings.outbox_lease_seconds),
        "batch_size": settings.outbox_batch_size,
        "poll_seconds": settings.outbox_poll_seconds,
        "retention": dt.timedelta(days=settings.ticket_retention_days)
        if settings.ticket_retention_days
        else None,
        "draft_expiry": dt.timedelta(hours=settings.enquiry_draft_hours),
        "learning_retention": dt.timedelta(days=settings.learning_retention_days)
        if settings.learning_retention_days
        else None,
        "transcript_retention": dt.timedelta(days=settings.transcript_retention_days)
        if settings.transcript_retention_days
        else None,
        "alert": DeadLetterAlert(settings, count_dead_letter),
    }
    options.update(overrides)
    return OutboxWorker(tickets, build_channels(settings, routes, extra_channels), knowledge, **options)


class RunningWorker:
    """An outbox worker running as a task of the current event loop (the web app's lifecycle)."""

    def __init__(self, worker: OutboxWorker) -> None:
        self.worker = worker
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(worker.run(self._stop), name="outbox-worker")

    async def stop(self) -> None:
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, STOP_TIMEOUT_SECONDS)
        except TimeoutError:  # a delivery hung past its own timeout: its lease brings the job back
            log.warning("outbox_worker_stop_timeout", extra={"worker": self.worker.name})
