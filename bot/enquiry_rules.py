"""What the enquiry conversation (bot/enquiry.py) and the enquiry form (bot/enquiry_form.py) share: the
checks on each answer and the creation of the ticket. One set of rules, whichever way a teacher asks.

Each check takes the cleaned text (`bot.normalise.clean_user_text`) and returns the value to keep, or
raises `Invalid` with the message to show (all wording from knowledge/data/enquiry.yaml).
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email

from bot.messages import ConversationKey, Reply
from bot.outbox import DeliveryRoutes
from bot.routing import Route, find_school, route
from bot.store.tickets import NewTicket, TicketSink
from knowledge.enquiry import EnquiryKnowledge, EnquiryTexts
from knowledge.hubs import School


class Invalid(ValueError):
    """An answer the enquiry cannot use; `message` says why (it may be empty: just ask again)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


def check_length(t: EnquiryTexts, field: str, text: str) -> None:
    """The length limit of a typed answer (`limits:` in enquiry.yaml)."""
    limit: int = getattr(t.limits, field)
    if len(text) > limit:
        label = getattr(t.field_labels, field).lower()
        raise Invalid(t.too_long.format(field=label, limit=limit))


def check_name(t: EnquiryTexts, text: str) -> str:
    if "@" in text or not any(ch.isalpha() for ch in text):
        raise Invalid(t.name_invalid.format(limit=t.limits.name))
    return " ".join(text.split())


def check_email(t: EnquiryTexts, text: str) -> str:
    """A deliverable-looking address (no DNS lookup), normalised."""
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise Invalid(t.email_invalid.format(reason=str(exc).rstrip("."))) from exc
    return str(checked.normalized)


def check_school_text(t: EnquiryTexts, text: str) -> dict[str, str]:
    """A school typed in by hand (not picked from the list): a name and a town or postcode."""
    if sum(ch.isalnum() for ch in text) < 3:
        raise Invalid(t.ask_school_manual)
    return {"text": " ".join(text.split())}


def check_question(t: EnquiryTexts, text: str) -> str:
    if len(text) < t.limits.question_min:
        raise Invalid(t.question_too_short)
    return text


def school_answer(school: School) -> dict[str, str]:
    return {
        "urn": school.urn,
        "name": school.name,
        "local_authority": school.local_authority,
        "postcode": school.postcode,
    }


def school_text(school: dict[str, str]) -> str | None:
    if "urn" in school:
        where = ", ".join(p for p in (school.get("local_authority"), school.get("postcode")) if p)
        return f"{school['name']} ({where})" if where else school["name"]
    return school.get("text")


def route_answer(data: EnquiryKnowledge, school: dict[str, str]) -> Route:
    found = find_school(data, school["urn"]) if "urn" in school else None
    return route(data, found)


async def create_ticket(
    tickets: TicketSink,
    data: EnquiryKnowledge,
    routes: DeliveryRoutes,
    key: ConversationKey,
    answers: dict[str, Any],
) -> Reply:
    """Write the ticket and its delivery jobs through `tickets` (a conversation slot's, so they commit
    with the conversation), and return the confirmation: the reference and what happens next."""
    t = data.texts
    school = answers["school"]
    where = route_answer(data, school)
    reference = await tickets.create(
        NewTicket(
            owner_ref=key.user_ref,
            platform=key.platform,
            hub_id=where.hub_id,
            destination=where.destination,
            manual_routing=where.manual_routing,
            routing_reason=where.reason,
            suggested_hub_id=where.suggested_hub_id,
            local_authority=where.local_authority,
            school_urn=school.get("urn"),
            school=school_text(school),
            programme=answers.get("programme"),
            name=answers["name"],
            email=answers["email"],
            role=answers.get("role"),
            question=answers["question"],
        ),
        routes.targets_for(where.hub_id),
    )
    if where.manual_routing:
        text = t.confirmed_manual.format(reference=reference, email=answers["email"])
    else:
        text = t.confirmed.format(reference=reference, hub=where.destination, email=answers["email"])
    return Reply(text, data={"reference": reference})
