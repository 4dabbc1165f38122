"""Structured forms offered as Slack modals, for replies that name one in `Reply.form`.

The plumbing (button → views.open → view_submission → inline errors → replies) lives in app.py,
render.py and translate.py. A form itself says which fields it has, how to check them and what
submitting does. No form is registered yet: the enquiry form arrives with the enquiry flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.messages import ConversationKey, Reply

if TYPE_CHECKING:
    from bot.app import Services


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a modal. `name` is its block id and its key in the submitted values."""

    name: str
    label: str
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


def build_forms(services: Services) -> list[SlackForm]:
    """The forms Slack offers. The enquiry form registers here once the enquiry flow exists."""
    return []
