"""Structured forms offered as Slack modals, for replies that name one in `Reply.form`.

The plumbing (button → views.open → view_submission → inline errors → replies) lives in app.py,
render.py and translate.py. A form itself says which fields it has, how to check them and what
submitting does. The enquiry form (bot/enquiry_form.py) is offered as a modal by `SlackEnquiryForm`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from bot.enquiry_form import EnquiryForm, enquiry_form
from bot.messages import Choice, ConversationKey, Reply

if TYPE_CHECKING:
    from bot.app import Services


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a modal. `name` is its block id and its key in the submitted values.

    `kind`: a plain_text_input ("text"), a static_select of `choices` ("select"), or checkboxes of
    `choices` ("checkbox", submitted as the ticked values joined by commas).
    """

    name: str
    label: str
    kind: Literal["text", "select", "checkbox"] = "text"
    choices: tuple[Choice, ...] = ()
    multiline: bool = False
    optional: bool = False
    max_length: int | None = None
    hint: str | None = None
    placeholder: str | None = None


class SlackForm(Protocol):
    @property
    def name(self) -> str:
        """What replies put in `Reply.form`."""
        ...

    @property
    def title(self) -> str:
        """The modal's title, at most 24 characters."""
        ...

    @property
    def fields(self) -> Sequence[FormField]: ...

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        """Problems to show under the fields, {field name: message}; empty when the form is fine."""
        ...

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        """Act on valid values; the replies are posted where the form was opened."""
        ...


class SlackEnquiryForm:
    """The enquiry form as a modal: a thin wrapper over bot/enquiry_form.py."""

    _KINDS: ClassVar[dict[str, Literal["text", "select", "checkbox"]]] = {
        "text": "text",
        "choice": "select",
        "consent": "checkbox",
    }

    def __init__(self, form: EnquiryForm) -> None:
        self.form = form

    @property
    def name(self) -> str:
        return self.form.name

    @property
    def title(self) -> str:
        return self.form.title

    @property
    def fields(self) -> Sequence[FormField]:
        return [
            FormField(
                f.name,
                f.label,
                kind=self._KINDS[f.kind],
                choices=f.choices,
                multiline=f.multiline,
                max_length=f.max_length,
                hint=f.hint,
            )
            for f in self.form.fields
        ]

    def validate(self, values: Mapping[str, str]) -> dict[str, str]:
        return self.form.validate(values)

    async def submit(self, key: ConversationKey, values: Mapping[str, str]) -> list[Reply]:
        return await self.form.submit(key, values)


def build_forms(services: Services) -> list[SlackForm]:
    """The forms Slack offers: the enquiry form, when the knowledge has an enquiry."""
    form = enquiry_form(services.engine, services.settings)
    return [SlackEnquiryForm(form)] if form is not None else []
