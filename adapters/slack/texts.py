"""The Slack front end's own wording (adapters/slack/texts.yaml), validated like the knowledge texts."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

TEXTS_FILE = Path(__file__).with_name("texts.yaml")


class SlackTexts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    you_chose: str = Field(description="Replaces the buttons of a message once one is pressed; {label}")
    open_form: str = Field(max_length=75)
    form_submit: str = Field(max_length=24)
    form_cancel: str = Field(max_length=24)
    form_unavailable: str
    home_title: str = Field(max_length=150)
    home_hint: str = Field(description="Shown under the App Home menu; {command} is the slash command")


def load_slack_texts(path: Path = TEXTS_FILE) -> SlackTexts:
    return SlackTexts.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
