"""Pydantic model for enquiry.yaml: what the enquiry conversation says, its limits, and the texts of
the message a Maths Hub receives. `{name}` fields are filled in by bot/enquiry.py and bot/outbox.py.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge.hubs import EstablishmentType, EstablishmentTypesFile, Hub, HubsFile, School

FIELDS = ("name", "email", "role", "school", "programme", "question")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class EnquiryLimits(_Frozen):
    """Longest answers the conversation accepts (characters). The engine caps a message at 4,000."""

    name: int = Field(default=100, ge=20, le=300)
    email: int = Field(default=254, ge=50, le=320)
    role: int = Field(default=100, ge=20, le=300)
    school: int = Field(default=200, ge=50, le=500)
    question: int = Field(default=2000, ge=200, le=3500)
    question_min: int = Field(default=5, ge=1, le=50)


class FieldLabels(_Frozen):
    name: str
    email: str
    role: str
    school: str
    programme: str
    question: str


class DeliveryTexts(_Frozen):
    """The message a hub receives (email, webhook, Slack). Read by hub staff, not by the teacher."""

    subject: str
    subject_manual: str
    intro: str
    manual_note: str
    suggested_hub: str
    reference_label: str
    hub_label: str
    routing_label: str
    school_urn_label: str
    school_la_label: str
    footer: str


class EnquiryTexts(_Frozen):
    privacy_notice: str
    consent_question: str
    consent_yes: str
    consent_no: str
    consent_refused: str
    consent_reprompt: str

    ask_name: str
    name_invalid: str
    ask_email: str
    email_invalid: str
    ask_role: str
    roles: tuple[str, ...] = Field(min_length=1, max_length=8)
    ask_school: str
    ask_school_manual: str
    school_pick: str
    school_not_listed: str
    school_not_found: str
    ask_programme: str
    ask_programme_prefilled: str
    programme_other: str
    programme_other_cues: tuple[str, ...] = Field(default=(), description="Typed answers meaning 'other'")
    programme_unknown: str
    ask_question: str
    ask_question_prefilled: str
    keep_question: str
    keep_question_cues: tuple[str, ...] = Field(default=(), description="Typed answers meaning 'send that'")
    question_too_short: str
    too_long: str

    summary: str
    summary_destination_hub: str
    summary_destination_default: str
    confirm: str
    change: str
    cancel: str
    change_which: str
    back_to_summary: str
    not_given: str
    field_labels: FieldLabels

    confirmed: str
    confirmed_manual: str
    cancelled: str
    expired: str

    # The same enquiry as a form (a Slack modal, a Teams card): bot/enquiry_form.py.
    form_title: str = Field(max_length=24)
    form_open: str
    form_submit: str
    form_consent_required: str
    form_required: str
    form_pick_one: str

    status_pending: str
    status_retrying: str
    status_delivered: str
    status_failed: str
    status_not_found: str
    status_cues: tuple[str, ...] = Field(
        min_length=1, description="Words that make a message with a reference a status question"
    )

    limits: EnquiryLimits = Field(default_factory=EnquiryLimits)
    delivery: DeliveryTexts

    # Which `{fields}` each text may use; anything else is a typo the loader reports.
    PLACEHOLDERS: ClassVar[dict[str, frozenset[str]]] = {
        "name_invalid": frozenset({"limit"}),
        "email_invalid": frozenset({"reason"}),
        "too_long": frozenset({"limit", "field"}),
        "ask_programme_prefilled": frozenset({"programme"}),
        "ask_question_prefilled": frozenset({"question"}),
        "summary": frozenset({"details", "destination"}),
        "summary_destination_hub": frozenset({"hub"}),
        "confirmed": frozenset({"reference", "hub", "email"}),
        "confirmed_manual": frozenset({"reference", "email"}),
        "status_pending": frozenset({"reference", "destination", "date"}),
        "status_retrying": frozenset({"reference", "destination", "date"}),
        "status_delivered": frozenset({"reference", "destination", "date"}),
        "status_failed": frozenset({"reference", "destination", "date", "hub_contact"}),
        "status_not_found": frozenset({"reference"}),
    }
    DELIVERY_PLACEHOLDERS: ClassVar[dict[str, frozenset[str]]] = {
        "subject": frozenset({"reference", "programme"}),
        "subject_manual": frozenset({"reference", "programme"}),
        "suggested_hub": frozenset({"hub"}),
    }

    @model_validator(mode="after")
    def _known_placeholders(self) -> EnquiryTexts:
        checks = [(name, getattr(self, name), allowed) for name, allowed in self.PLACEHOLDERS.items()]
        checks += [
            (f"delivery.{name}", getattr(self.delivery, name), allowed)
            for name, allowed in self.DELIVERY_PLACEHOLDERS.items()
        ]
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, str) and name not in self.PLACEHOLDERS:
                checks.append((name, value, frozenset()))
        for name, text, allowed in checks:
            used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
            unknown = used - allowed
            if unknown:
                raise ValueError(
                    f"{name}: unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
                )
        return self


@dataclass(frozen=True)
class EnquiryKnowledge:
    """Everything the enquiry conversation and the routing need, loaded and cross-checked together."""

    texts: EnquiryTexts
    hubs: HubsFile
    establishment: EstablishmentTypesFile
    schools: tuple[School, ...] = ()
    hub_by_id: Mapping[str, Hub] = field(init=False)
    type_by_name: Mapping[str, EstablishmentType] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hub_by_id", {h.id: h for h in self.hubs.hubs})
        object.__setattr__(self, "type_by_name", {t.name: t for t in self.establishment.types})
