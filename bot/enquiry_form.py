"""The LLME enquiry as one structured form, for front ends that offer forms (a Slack modal, a Teams card).

Platform-free: the fields (labels, choices and limits from knowledge/data/enquiry.yaml), `validate`
with exactly the conversation's rules (bot/enquiry_rules.py), and `submit`, which writes the ticket the
way the conversation does, through the store's `conversation(key)` slot, so the ticket, its delivery
jobs and the conversation state commit together, and returns the same confirmation. Adapters wrap it
(adapters/slack/forms.py, adapters/teams/forms.py); replies with `form == "enquiry"` offer it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.engine import Engine
from bot.enquiry import NAME, EnquiryFlow
from bot.enquiry_rules import (
    Invalid,
    check_email,
    check_length,
    check_name,
    check_question,
    check_school_text,
    create_ticket,
    school_answer,
)
from bot.messages import Choice, ConversationKey, Reply
from bot.normalise import clean_user_text
from bot.outbox import DeliveryRoutes
from bot.routing import lookup_school
from bot.settings import Settings
from bot.state import parse_state
from knowledge.enquiry import EnquiryKnowledge

FORM_NAME = NAME  # what replies put in `Reply.form`
YES = "yes"  # the consent box's value when ticked
OTHER_PROGRAMME = "none"  # the programme choice for "something else or not sure"
FIELD_ORDER = ("consent", "name", "email", "role", "school", "programme", "question")
# A typed school is taken as one from the list only when the match is this sure (else routed by hand).
SURE_MATCH = 90.0


@dataclass(frozen=True, slots=True)
class EnquiryField:
    """One input: a text box, a pick-one list (`choices`), or a single tick box (`consent`)."""

    name: str
    label: str
    kind: Literal["text", "choice", "consent"] = "text"
    multiline: bool = False
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    hint: str | None = None


class EnquiryForm:
    """The enquiry form over the engine's live knowledge (reloads included) and its store."""

    name = FORM_NAME

    def __init__(self, engine: Engine, routes: DeliveryRoutes) -> None:
        self.engine = engine
        self.routes = routes

    @property
    def data(self) -> EnquiryKnowledge | None:
        return self.engine.knowledge.enquiry

    @property
    def available(self) -> bool:
        return self.data is not None

    @property
    def title(self) -> str:
        return self.data.texts.form_title if self.data else ""

    @property
    def open_label(self) -> str:
        return self.data.texts.form_open if self.data else ""

    @property
    def submit_label(self) -> str:
        return self.data.texts.form_submit if self.data else ""

    @property
    def required_message(self) -> str:
        return self.data.texts.form_required if self.data else ""

    @property
    def fields(self) -> tuple[EnquiryField, ...]:
        data = self.data
        if data is None:
            return ()
        t = data.texts
        labels, limits = t.field_labels, t.limits
        programmes = [Choice(p.short_name, p.id) for p in self.engine.knowledge.programmes.values()]
        return (
            EnquiryField(
                "consent",
                t.consent_question,
                kind="consent",
                choices=(Choice(t.consent_yes, YES),),
                hint=t.privacy_notice,
            ),
            EnquiryField("name", labels.name, max_length=limits.name),
            EnquiryField("email", labels.email, max_length=limits.email),
            EnquiryField(
                "role",
                labels.role,
                kind="choice",
                choices=tuple(Choice(r, str(i)) for i, r in enumerate(t.roles)),
            ),
            EnquiryField("school", labels.school, max_length=limits.school, hint=t.ask_school_manual),
            EnquiryField(
                "programme",
                labels.programme,
                kind="choice",
                choices=(*programmes, Choice(t.programme_other, OTHER_PROGRAMME)),
            ),
            EnquiryField("question", labels.question, multiline=True, max_length=limits.question),
        )

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        """{field: message} for every answer the conversation would not accept; empty when all is well."""
        try:
            self._answers(values)
        except _Problems as problems:
            return problems.messages
        return {}

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        """Create the ticket (nothing at all without consent) and return the confirmation."""
        data = self.data
        if data is None:
            texts = self.engine.knowledge.texts
            return [Reply(texts.contact_hub.format(hub_contact=texts.hub_contact))]
        try:
            answers = self._answers(values)
        except _Problems as problems:  # adapters validate first; never store an invalid enquiry
            return [Reply(message, kind="error") for message in problems.messages.values()]
        async with self.engine.store.conversation(key) as slot:
            if slot.tickets is None:
                raise RuntimeError("this store cannot keep enquiry tickets")
            reply = await create_ticket(slot.tickets, data, self.routes, key, answers)
            state, _ = parse_state(slot.state)
            if state.flow is not None and state.flow.name == NAME:  # the form replaces a half-done chat
                state.flow = None
                state.choices = []
            state.updated_at = slot.now
            slot.save(state.model_dump(mode="json"))
        return [reply]

    # -- checking ------------------------------------------------------------------------------------
    def _answers(self, values: Mapping[str, str]) -> dict[str, Any]:
        """The answers as the conversation keeps them, or _Problems with a message per field."""
        data = self.data
        if data is None:
            return {}
        t = data.texts
        raw = {name: clean_user_text(str(values.get(name) or "")) for name in FIELD_ORDER}
        answers: dict[str, Any] = {}
        problems: dict[str, str] = {}

        def typed(name: str, check: Any) -> None:
            text = raw[name]
            if not text:
                problems[name] = t.form_required
                return
            try:
                check_length(t, name, text)
                answers[name] = check(t, text)
            except Invalid as exc:
                problems[name] = exc.message or t.form_required

        if raw["consent"].lower() != YES:
            problems["consent"] = t.form_consent_required
        typed("name", check_name)
        typed("email", check_email)
        role = raw["role"]
        if role.isdigit() and int(role) < len(t.roles):
            answers["role"] = t.roles[int(role)]
        else:
            problems["role"] = t.form_pick_one if role else t.form_required
        typed("school", lambda t, text: self._school(data, text))
        programme = raw["programme"]
        if programme == OTHER_PROGRAMME or programme in self.engine.knowledge.programmes:
            answers["programme"] = None if programme == OTHER_PROGRAMME else programme
        else:
            problems["programme"] = t.form_pick_one if programme else t.form_required
        typed("question", check_question)
        if problems:
            raise _Problems(problems)
        return answers

    @staticmethod
    def _school(data: EnquiryKnowledge, text: str) -> dict[str, str]:
        """A URN, or a name sure to be one school in the list, routes by that school; else it is kept
        as typed and routed by hand (the conversation asks the teacher to pick; a form cannot)."""
        manual = check_school_text(data.texts, text)
        matches = lookup_school(data, text)
        if len(matches) == 1 and matches[0].score >= SURE_MATCH:
            return school_answer(matches[0].school)
        return manual


class _Problems(Exception):
    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__(messages)
        self.messages = messages


def enquiry_form(engine: Engine, settings: Settings) -> EnquiryForm | None:
    """The form, with the same delivery routes as the conversation; None without enquiry.yaml."""
    if engine.knowledge.enquiry is None:
        return None
    return EnquiryForm(engine, EnquiryFlow.from_settings(settings, engine.knowledge).routes)
