"""Structured forms offered as Adaptive Cards, for replies that name one in `Reply.form` (e.g. "enquiry").

The plumbing: render.py adds an "Open form" button (Action.ShowCard) that expands the form inside the
reply's card; a submit comes back as a message whose value holds {"action": "card-form:<name>"} and
the inputs (translate.form_submission); app.py asks the form to validate, re-sends the form with inline
messages under the fields that need fixing, or hands valid values to the form. A form says which fields
it has, how to check them and what submitting does.

The enquiry form (bot/enquiry_form.py) is offered as a card by `TeamsEnquiryForm` (build_forms below).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.enquiry_form import EnquiryForm, enquiry_form
from bot.messages import Choice, ConversationKey, Reply

if TYPE_CHECKING:
    from bot.app import Services


@dataclass(frozen=True, slots=True)
class FormField:
    """One input. `name` is its id in the card and its key in the submitted values.

    With `toggle` it is an Input.Toggle (its title and value when on are `choices[0]`), with `choices`
    an Input.ChoiceSet, otherwise an Input.Text. `error` is the message Teams shows
    under the field when it is required and empty, or does not match `regex`, before anything is sent.
    """

    name: str
    label: str
    error: str
    optional: bool = False
    multiline: bool = False
    max_length: int | None = None
    placeholder: str | None = None
    regex: str | None = None
    style: str | None = None  # Input.Text style: "email", "tel", "url"
    choices: tuple[Choice, ...] = ()
    toggle: bool = False


class CardForm(Protocol):
    @property
    def name(self) -> str:
        """What replies put in `Reply.form`."""
        ...

    @property
    def open_label(self) -> str:
        """The button that opens the form in the card, e.g. "Open form"."""
        ...

    @property
    def submit_label(self) -> str: ...

    @property
    def fields(self) -> Sequence[FormField]: ...

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        """Problems to show under the fields, {field name: message}; empty when the form is fine."""
        ...

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        """Act on valid values; the replies are posted where the form was."""
        ...


class TeamsEnquiryForm:
    """The enquiry form as a card: a thin wrapper over bot/enquiry_form.py."""

    def __init__(self, form: EnquiryForm) -> None:
        self.form = form

    @property
    def name(self) -> str:
        return self.form.name

    @property
    def open_label(self) -> str:
        return self.form.open_label

    @property
    def submit_label(self) -> str:
        return self.form.submit_label

    @property
    def fields(self) -> Sequence[FormField]:
        required = self.form.required_message
        return [
            FormField(
                f.name,
                f.label,
                error=required,
                multiline=f.multiline,
                max_length=f.max_length,
                style="email" if f.name == "email" else None,
                choices=f.choices,
                toggle=f.kind == "consent",
            )
            for f in self.form.fields
        ]

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        return self.form.validate(values)

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        return await self.form.submit(key, values)


def build_forms(services: Services) -> dict[str, CardForm]:
    """The forms Teams offers, by name: the enquiry form, when the knowledge has an enquiry."""
    form = enquiry_form(services.engine, services.settings)
    return {form.name: TeamsEnquiryForm(form)} if form is not None else {}
