"""Masking of personal data in text the bot keeps for knowledge authors (unanswered questions, feedback)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)(?:\+?44\s?|0)(?:\d[\s-]?){9,10}(?!\w)")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_SELF_NAME = re.compile(
    r"\b((?i:my name is|my name's|i am called|i'm called|this is))\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2})",
)


def mask_personal(text: str) -> str:
    """Replace emails, UK phone numbers, postcodes and self-introduced names with placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    text = _POSTCODE.sub("[postcode]", text)
    return _SELF_NAME.sub(lambda m: f"{m.group(1)} [name]", text)
