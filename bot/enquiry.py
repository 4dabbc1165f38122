"""The enquiry conversation: it replaces the "LLME enquiry form" with a few questions, then a ticket.

Steps: consent → name → email → role → school → programme → question → summary (send / change a
detail / cancel). Nothing is stored before consent; the ticket and its delivery jobs are written in
the conversation's own transaction when the teacher confirms. Also answers "what's the status of
LLME-2026-000123?" for the teacher who owns that ticket (and says "not found" to anyone else).
All wording is in knowledge/data/enquiry.yaml.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from bot.clock import ENGLAND
from bot.enquiry_rules import (
    Invalid,
    check_email,
    check_length,
    check_name,
    check_question,
    check_school_text,
    create_ticket,
    route_answer,
    school_answer,
    school_text,
)
from bot.flows import FlowContext, FlowResult
from bot.messages import Choice, Reply
from bot.normalise import clean_user_text
from bot.outbox import DeliveryRoutes
from bot.routing import find_school, lookup_school, normalise_postcode
from bot.settings import Settings
from bot.state import FlowState
from bot.store.tickets import find_reference
from knowledge.enquiry import FIELDS, EnquiryKnowledge, EnquiryTexts
from knowledge.hubs import School
from knowledge.loader import Knowledge

NAME = "enquiry"
PREFIX = f"flow:{NAME}:"
DRAFT_EXPIRY = dt.timedelta(hours=24)
ORDER = ("consent", "name", "email", "role", "school", "programme", "question", "summary")
_YES = frozenset({"yes", "y", "yeah", "yep", "ok", "okay", "sure", "fine", "agree", "go", "confirm", "send"})
_NO = frozenset({"no", "n", "nope", "dont", "do not", "not"})


def _action(name: str) -> str:
    return PREFIX + name


class EnquiryFlow:
    name = NAME
    intents: Sequence[str] = ("contact",)

    def __init__(self, routes: DeliveryRoutes, *, draft_expiry: dt.timedelta = DRAFT_EXPIRY) -> None:
        self.routes = routes
        self.draft_expiry = draft_expiry

    @classmethod
    def from_settings(cls, settings: Settings, knowledge: Knowledge) -> EnquiryFlow:
        hub_ids = [h.id for h in knowledge.enquiry.hubs.hubs] if knowledge.enquiry else None
        return cls(
            DeliveryRoutes.from_settings(settings, hub_ids),
            draft_expiry=dt.timedelta(hours=settings.enquiry_draft_hours),
        )

    # -- Flow protocol -------------------------------------------------------------------------
    async def start(self, ctx: FlowContext, seed: dict[str, Any]) -> FlowResult:
        data = ctx.knowledge.enquiry
        if data is None:  # a knowledge set without enquiry.yaml: point to the hubs, as before
            texts = ctx.knowledge.texts
            return FlowResult(None, [Reply(texts.contact_hub.format(hub_contact=texts.hub_contact))])
        t = data.texts
        answers: dict[str, Any] = {}
        question = clean_user_text(str(seed.get("question") or ""))
        if t.limits.question_min <= len(question) <= t.limits.question:
            answers["suggested_question"] = question
        programme = seed.get("programme") or ctx.conversation.last_programme
        if isinstance(programme, str) and programme in ctx.knowledge.programmes:
            answers["suggested_programme"] = programme
        flow = FlowState(name=NAME, step="consent", data=answers, started_at=ctx.now, updated_at=ctx.now)
        return FlowResult(flow, [Reply(t.privacy_notice, form="enquiry"), *self._prompt(ctx, data, flow)])

    async def step(self, ctx: FlowContext, flow: FlowState) -> FlowResult:
        data = ctx.knowledge.enquiry
        if data is None:
            return FlowResult(None, [])
        t = data.texts
        if ctx.now - _aware(flow.updated_at) > self.draft_expiry:
            restarted = await self.start(ctx, {})
            return FlowResult(restarted.flow, [Reply(t.expired), *restarted.replies])
        action = ctx.action
        if action == _action("cancel"):
            return FlowResult(None, [Reply(t.cancelled)])
        flow = flow.model_copy(deep=True)
        flow.updated_at = ctx.now
        turn = _Turn(ctx, data, flow, action, clean_user_text(ctx.inbound.text or ""))
        if action is not None and not action.startswith(PREFIX):
            return self._again(turn)  # another flow's button: not an answer here
        handler = getattr(self, f"_on_{flow.step}", None)
        if handler is None:  # a step from an older version: go back to the summary or the start
            flow.step = "summary" if _complete(flow) else "consent"
            return FlowResult(flow, self._prompt(ctx, data, flow))
        result: FlowResult = await handler(turn)
        return result

    def reprompt(self, ctx: FlowContext, flow: FlowState) -> list[Reply]:
        data = ctx.knowledge.enquiry
        return self._prompt(ctx, data, flow) if data is not None else []

    async def answer(self, ctx: FlowContext) -> list[Reply] | None:
        """The status of a ticket, when the message asks about an LLME-… reference; else None."""
        data, tickets = ctx.knowledge.enquiry, ctx.slot.tickets
        if data is None or tickets is None or ctx.inbound.action or not ctx.inbound.text:
            return None
        text = ctx.inbound.text
        reference = find_reference(text)
        if reference is None:
            return None
        t = data.texts
        rest = re.findall(r"[a-z']+", re.sub(r"(?i)llme[\s-]*\d{4}[\s-]*\d+", " ", text).lower())
        if len(rest) > 4 and not set(rest) & set(t.status_cues):
            return None  # mentions a reference, but is not asking about it
        status = await tickets.status_for_owner(reference, ctx.inbound.key.user_ref)
        if status is None:
            return [Reply(t.status_not_found.format(reference=reference))]
        # The ticket's real state: delivered, being sent, being retried, or given up on (then the
        # operators have been alerted, and the teacher can reach the hub directly).
        if status.status == "delivered":
            template, shown = t.status_delivered, "delivered"
        elif status.status == "pending":
            template, shown = (
                (t.status_retrying, "retrying") if status.retrying else (t.status_pending, "pending")
            )
        else:
            template, shown = t.status_failed, "failed"
        date = status.created_at.astimezone(ENGLAND)
        text = template.format(
            reference=status.reference,
            destination=status.destination,
            date=f"{date.day} {date:%B %Y}",
            hub_contact=ctx.knowledge.texts.hub_contact,
        )
        return [Reply(text, data={"reference": status.reference, "status": shown})]

    # -- steps ---------------------------------------------------------------------------------
    async def _on_consent(self, turn: _Turn) -> FlowResult:
        t = turn.texts
        answer = turn.action or ""
        words = turn.ctx.normalise(turn.text).split()
        if answer == _action("consent:yes") or (not answer and words and words[0] in _YES):
            return self._advance(turn)
        if answer == _action("consent:no") or (not answer and words and words[0] in _NO):
            return FlowResult(None, [Reply(t.consent_refused)])
        if "?" in turn.text:
            return FlowResult(turn.flow, consumed=False)
        return FlowResult(turn.flow, [Reply(t.consent_reprompt), *self._prompt_turn(turn)])

    async def _on_name(self, turn: _Turn) -> FlowResult:
        t = turn.texts
        early = self._free_text(turn, "name")
        if early is not None:
            return early
        try:
            turn.answers["name"] = check_name(t, turn.text)
        except Invalid as exc:
            return self._again(turn, exc.message)
        return self._advance(turn)

    async def _on_email(self, turn: _Turn) -> FlowResult:
        t = turn.texts
        early = self._free_text(turn, "email", questions="@" not in turn.text)
        if early is not None:
            return early
        try:
            turn.answers["email"] = check_email(t, turn.text)
        except Invalid as exc:
            return self._again(turn, exc.message)
        return self._advance(turn)

    async def _on_role(self, turn: _Turn) -> FlowResult:
        t = turn.texts
        picked = _suffix(turn.action, "role:")
        if picked is not None:
            if not picked.isdigit() or int(picked) >= len(t.roles):
                return self._again(turn)
            turn.answers["role"] = t.roles[int(picked)]
            return self._advance(turn)
        early = self._free_text(turn, "role")
        if early is not None:
            return early
        turn.answers["role"] = " ".join(turn.text.split())
        return self._advance(turn)

    async def _on_school(self, turn: _Turn) -> FlowResult:
        t = turn.texts
        early = self._free_text(turn, "school")
        if early is not None:
            return early
        offered = self._offer_schools(turn)
        if offered is not None:
            return offered
        if normalise_postcode(turn.text) or "," in turn.text or not turn.data.schools:
            turn.answers["school"] = {"text": " ".join(turn.text.split())}
            return self._advance(turn)
        turn.flow.step = "school_manual"
        return FlowResult(turn.flow, [Reply(t.school_not_found), *self._prompt_turn(turn)])

    def _offer_schools(self, turn: _Turn) -> FlowResult | None:
        """The schools the typed text finds, offered as buttons (None when it finds none)."""
        matches = lookup_school(turn.data, turn.text)
        if not matches:
            return None
        turn.answers["school_matches"] = [m.school.urn for m in matches]
        turn.flow.step = "school_pick"
        return FlowResult(turn.flow, self._prompt_turn(turn))

    async def _on_school_pick(self, turn: _Turn) -> FlowResult:
        picked = _suffix(turn.action, "school:")
        if picked == "none":
            turn.answers["school_declined"] = True  # what they type next is kept as typed
            turn.flow.step = "school_manual"
            return FlowResult(turn.flow, self._prompt_turn(turn))
        if picked is not None:
            school = find_school(turn.data, picked)
            if school is None or picked not in turn.answers.get("school_matches", []):
                return self._again(turn)
            turn.answers["school"] = school_answer(school)
            turn.answers.pop("school_matches", None)
            turn.answers.pop("school_declined", None)
            return self._advance(turn)
        return await self._on_school(turn)  # typed something else: search again

    async def _on_school_manual(self, turn: _Turn) -> FlowResult:
        early = self._free_text(turn, "school")
        if early is not None:
            return early
        if not turn.answers.get("school_declined"):  # a second try after "not found": look it up too
            offered = self._offer_schools(turn)
            if offered is not None:
                return offered
        try:
            turn.answers["school"] = check_school_text(turn.texts, turn.text)
        except Invalid:
            return self._again(turn)  # the prompt itself says what to type
        turn.answers.pop("school_matches", None)
        turn.answers.pop("school_declined", None)
        return self._advance(turn)

    async def _on_programme(self, turn: _Turn) -> FlowResult:
        t = turn.texts
        picked = _suffix(turn.action, "programme:")
        programmes = turn.ctx.knowledge.programmes
        if picked is None and turn.text and not turn.action:
            picked = _programme_from_text(turn.ctx, turn.text)
            if picked is None and _said(turn.ctx, turn.text, t.programme_other_cues):
                picked = "none"
        if picked == "none" or (picked is not None and picked in programmes):
            turn.answers["programme"] = None if picked == "none" else picked
            return self._advance(turn)
        if "?" in turn.text:
            return FlowResult(turn.flow, consumed=False)
        return self._again(turn, t.programme_unknown)

    async def _on_question(self, turn: _Turn) -> FlowResult:
        t = turn.texts
        keep = turn.action == _action("question:keep")
        keep |= not turn.action and _said(turn.ctx, turn.text, t.keep_question_cues)
        if keep and turn.answers.get("suggested_question"):
            turn.answers["question"] = turn.answers["suggested_question"]
            return self._advance(turn)
        early = self._free_text(turn, "question", questions=False)
        if early is not None:
            return early
        try:
            turn.answers["question"] = check_question(t, turn.text)
        except Invalid as exc:
            return self._again(turn, exc.message)
        return self._advance(turn)

    async def _on_summary(self, turn: _Turn) -> FlowResult:
        words = turn.ctx.normalise(turn.text).split()
        if turn.action == _action("confirm") or (not turn.action and words and words[0] in _YES):
            return await self._confirm(turn)
        if turn.action == _action("change"):
            turn.flow.step = "change"
            return FlowResult(turn.flow, self._prompt_turn(turn))
        field = _suffix(turn.action, "edit:")
        if field is not None:
            return self._edit(turn, field)
        if "?" in turn.text and not turn.action:
            return FlowResult(turn.flow, consumed=False)
        return self._again(turn)

    async def _on_change(self, turn: _Turn) -> FlowResult:
        field = _suffix(turn.action, "edit:")
        if field is not None:
            return self._edit(turn, field)
        if turn.action == _action("summary") or not turn.action:
            turn.flow.step = "summary"
            return FlowResult(turn.flow, self._prompt_turn(turn))
        return self._again(turn)

    # -- moving between steps --------------------------------------------------------------------
    def _edit(self, turn: _Turn, field: str) -> FlowResult:
        if field not in FIELDS:
            return self._again(turn)
        turn.answers["editing"] = True
        if field == "question" and turn.answers.get("question"):
            turn.answers["suggested_question"] = turn.answers["question"]
        if field == "programme" and turn.answers.get("programme"):
            turn.answers["suggested_programme"] = turn.answers["programme"]
        turn.flow.step = field
        return FlowResult(turn.flow, self._prompt_turn(turn))

    def _advance(self, turn: _Turn) -> FlowResult:
        flow = turn.flow
        if turn.answers.pop("editing", False) and _complete(flow):
            flow.step = "summary"
        else:
            current = "school" if flow.step.startswith("school") else flow.step
            later = ORDER[ORDER.index(current) + 1 :]
            flow.step = next((s for s in later if not _answered(flow, s)), "summary")
        return FlowResult(flow, self._prompt_turn(turn))

    def _free_text(self, turn: _Turn, field: str, *, questions: bool = True) -> FlowResult | None:
        """Common checks for a typed answer: a stale button, a question for the FAQ, the length limit."""
        if turn.action:
            return self._again(turn)
        if questions and "?" in turn.text:
            return FlowResult(turn.flow, consumed=False)  # the engine answers it, then asks again
        try:
            check_length(turn.texts, field, turn.text)
        except Invalid as exc:
            return self._again(turn, exc.message)
        return None

    def _again(self, turn: _Turn, message: str | None = None) -> FlowResult:
        replies = [Reply(message, kind="error")] if message else []
        return FlowResult(turn.flow, [*replies, *self._prompt_turn(turn)])

    async def _confirm(self, turn: _Turn) -> FlowResult:
        ctx, answers = turn.ctx, turn.answers
        if not _complete(turn.flow):
            turn.flow.step = next(s for s in ORDER if not _answered(turn.flow, s))
            return FlowResult(turn.flow, self._prompt_turn(turn))
        if ctx.slot.tickets is None:
            raise RuntimeError("this store cannot keep enquiry tickets")
        reply = await create_ticket(ctx.slot.tickets, turn.data, self.routes, ctx.inbound.key, answers)
        return FlowResult(None, [reply])

    # -- prompts -------------------------------------------------------------------------------
    def _prompt_turn(self, turn: _Turn) -> list[Reply]:
        return self._prompt(turn.ctx, turn.data, turn.flow)

    def _prompt(self, ctx: FlowContext, data: EnquiryKnowledge, flow: FlowState) -> list[Reply]:
        t = data.texts
        answers = flow.data
        step = flow.step
        if step == "consent":
            yes, no = (
                Choice(t.consent_yes, _action("consent:yes")),
                Choice(t.consent_no, _action("consent:no")),
            )
            return [_ask(t.consent_question, (yes, no))]
        if step == "name":
            return [_ask(t.ask_name)]
        if step == "email":
            return [_ask(t.ask_email)]
        if step == "role":
            return [_ask(t.ask_role, [Choice(r, _action(f"role:{i}")) for i, r in enumerate(t.roles)])]
        if step == "school":
            return [_ask(t.ask_school if data.schools else t.ask_school_manual)]
        if step == "school_manual":
            return [_ask(t.ask_school_manual)]
        if step == "school_pick":
            schools = [s for s in (find_school(data, u) for u in answers.get("school_matches", [])) if s]
            choices = [Choice(_school_label(s), _action(f"school:{s.urn}")) for s in schools]
            return [_ask(t.school_pick, [*choices, Choice(t.school_not_listed, _action("school:none"))])]
        if step == "programme":
            return [self._programme_prompt(ctx, t, answers)]
        if step == "question":
            suggested = answers.get("suggested_question")
            if suggested:
                text = t.ask_question_prefilled.format(question=_shorten(suggested, 300))
                return [_ask(text, [Choice(t.keep_question, _action("question:keep"))])]
            return [_ask(t.ask_question)]
        if step == "change":
            labels = t.field_labels.model_dump()
            choices = [Choice(labels[f], _action(f"edit:{f}")) for f in FIELDS]
            return [_ask(t.change_which, [*choices, Choice(t.back_to_summary, _action("summary"))])]
        return [self._summary(ctx, data, flow)]

    def _programme_prompt(self, ctx: FlowContext, t: EnquiryTexts, answers: dict[str, Any]) -> Reply:
        programmes = list(ctx.knowledge.programmes.values())
        suggested = ctx.knowledge.programmes.get(answers.get("suggested_programme") or "")
        if suggested is not None:  # the one the teacher was asking about comes first
            programmes = [suggested, *(p for p in programmes if p.id != suggested.id)]
        choices = [Choice(p.short_name, _action(f"programme:{p.id}")) for p in programmes]
        choices.append(Choice(t.programme_other, _action("programme:none")))
        text = t.ask_programme_prefilled.format(programme=suggested.name) if suggested else t.ask_programme
        return _ask(text, choices)

    def _summary(self, ctx: FlowContext, data: EnquiryKnowledge, flow: FlowState) -> Reply:
        t = data.texts
        answers = flow.data
        labels = t.field_labels.model_dump()
        programme = ctx.knowledge.programmes.get(answers.get("programme") or "")
        values = {
            "name": answers.get("name"),
            "email": answers.get("email"),
            "role": answers.get("role"),
            "school": school_text(answers.get("school") or {}),
            "programme": programme.name if programme else t.programme_other,
            "question": answers.get("question"),
        }
        details = "\n".join(f"- {labels[f]}: {values[f] or t.not_given}" for f in FIELDS)
        where = route_answer(data, answers.get("school") or {})
        destination = (
            t.summary_destination_default
            if where.manual_routing
            else t.summary_destination_hub.format(hub=where.destination)
        )
        choices = (
            Choice(t.confirm, _action("confirm")),
            Choice(t.change, _action("change")),
            Choice(t.cancel, _action("cancel")),
        )
        return _ask(t.summary.format(details=details, destination=destination), choices)


class _Turn:
    """One message inside the flow: the context, the data, the (copied) flow state and the input."""

    def __init__(
        self, ctx: FlowContext, data: EnquiryKnowledge, flow: FlowState, action: str | None, text: str
    ) -> None:
        self.ctx = ctx
        self.data = data
        self.texts = data.texts
        self.flow = flow
        self.answers = flow.data
        self.action = action if action is None or action.startswith(PREFIX) else None
        self.text = text


def _ask(text: str, choices: Sequence[Choice] = ()) -> Reply:
    return Reply(text, choices=tuple(choices), kind="question")


def _said(ctx: FlowContext, text: str, phrases: Sequence[str]) -> bool:
    """The whole message is one of `phrases` (compared after normalisation)."""
    typed = ctx.normalise(text)
    return bool(typed) and any(ctx.normalise(p) == typed for p in phrases)


def _suffix(action: str | None, kind: str) -> str | None:
    prefix = PREFIX + kind
    return action[len(prefix) :] if action and action.startswith(prefix) else None


def _answered(flow: FlowState, step: str) -> bool:
    if step in ("consent", "summary"):
        return step == "consent"
    return step in flow.data


def _complete(flow: FlowState) -> bool:
    return all(f in flow.data for f in FIELDS)


def _programme_from_text(ctx: FlowContext, text: str) -> str | None:
    typed = ctx.normalise(text)
    if not typed:
        return None
    for programme in ctx.knowledge.programmes.values():
        names = (programme.id.replace("-", " "), programme.name, programme.short_name, *programme.aliases)
        if any(ctx.normalise(n) == typed for n in names):
            return programme.id
    return None


def _school_label(school: School) -> str:
    where = school.postcode or school.local_authority
    return f"{school.name}, {where}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
