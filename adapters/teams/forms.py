"""Structured forms offered as Adaptive Cards, for replies that name one in `Reply.form` (e.g. "enquiry").

The plumbing: render.py adds an "Open form" button (Action.ShowCard) that expands the form inside the
reply's card; a submit comes back as a message whose value holds {"action": "card-form:<name>"} and
the inputs (translate.form_submission); app.py asks the form to validate, re-sends the form with inline
messages under the fields that need fixing, or hands valid values to the form. A form says which fields
it has, how to check them and what submitting does.

No form is registered yet: the enquiry form arrives with the enquiry flow (build_forms below).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.messages import Choice, ConversationKey, Reply

if TYPE_CHECKING:
    from bot.app import Services


@dataclass(frozen=True, slots=True)
class FormField:
    """One input. `name` is its id in the card and its key in the submitted values.

    With `choices` it is an Input.ChoiceSet, otherwise an Input.Text. `error` is the message Teams shows
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


def build_forms(services: Services) -> dict[str, CardForm]:
    """The forms Teams offers, by name. The enquiry form registers here once the enquiry flow exists."""
    return {}
