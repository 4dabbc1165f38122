"""Masking of personal data in text the bot keeps for knowledge authors (unanswered questions, feedback,
"did you mean" picks): emails, UK phone numbers, postcodes and names people give for themselves.

Names are only recognised where the writer introduces themselves ("my name is …", "I'm Sarah Jones",
"this is …", "Sarah here", a sign-off such as "Thanks, Sarah"). After a firm cue ("my name is",
"call me") the next words are masked whatever their case; after a looser one ("I'm", "I am",
"this is") only capitalised words that are not common words of the trade ("I'm Head of Maths").
"""

from __future__ import annotations

import re
from collections.abc import Callable

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)(?:\+?44\s?|0)(?:\d[\s-]?){9,10}(?!\w)")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)

NAME = "[name]"
_APOS = "['\u2019]"
# A capitalised name word: Sarah, O'Neil, McDonald, Mary-Jane (not ECT, not I, not A).
_TITLE = rf"[A-Z](?:[a-z]+|{_APOS}[A-Z][a-z]+)(?:[-'\u2019]?[A-Z]?[a-z]+)*"
_ANY_WORD = r"[^\W\d_][\w'\u2019-]*"

# Words that follow "I'm" / "this is" / "my name is" without being a name.
_NOT_NAME_WORDS = """
    a an the and but or so not no yes just still also only now already actually really very here there
    from at in on of with for to by about as is am are was be been being i im me my your our their
    new head deputy assistant acting senior subject lead leader teacher teachers teaching trainee training
    maths math mathematics ks3 ks4 year key stage secondary primary school college trust academy department
    interested looking trying wondering hoping planning thinking keen unsure sure confused happy glad
    curious worried concerned struggling based working part going asking writing applying considering
    responsible early career newly qualified second first third final retired returning supply
    mastery specialist advocate advocates hub hubs ncetm dfe ofsted mr mrs ms miss dr sir hi hello hey
    development work group embedding sustaining programme programmes local leaders llme msp dwg tfm essence
    thanks thank please sorry dear
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())

_FIRM_CUE = re.compile(
    rf"(?i:\b(my\s+name\s+is|my\s+name{_APOS}?s|i\s+am\s+called|i{_APOS}?m\s+called|call\s+me|name\s*:))"
    rf"(\s+)({_ANY_WORD}(?:\s+{_ANY_WORD}){{0,2}})"
)
_LOOSE_CUE = re.compile(rf"(?i:\b(i\s+am|i{_APOS}?m|this\s+is))(\s+)({_TITLE}(?:\s+{_TITLE}){{0,2}})")
_HERE = re.compile(
    rf"^((?i:(?:hi|hello|hey|dear\s+\w+)[,!.]?\s+)?)({_TITLE}(?:\s+{_TITLE}){{0,2}})(\s+here\b)"
)
_SIGN_OFF = re.compile(
    rf"(?i:\b(thanks|thank\s+you|many\s+thanks|cheers|regards|kind\s+regards|best\s+wishes|best(?=\s*[,\n])))"
    rf"([,!.]?\s+)({_TITLE}(?:\s+{_TITLE}){{0,2}})(\s*[.!]?\s*)$"
)


def _mask_words(words: str, keep: Callable[[str], bool]) -> tuple[str, str]:
    """Split `words` into (the name part, the rest): name words run until the first word `keep` rejects."""
    parts = words.split()
    count = 0
    for word in parts:
        if not keep(word):
            break
        count += 1
    if count == 0:
        return "", words
    rest = words.split(None, count)[count] if count < len(parts) else ""
    return NAME, rest


def _is_name(word: str) -> bool:
    return word.lower().replace("\u2019", "'") not in _NOT_NAMES


def _cue_then_name(match: re.Match[str]) -> str:
    cue, space, words = match.group(1), match.group(2), match.group(3)
    masked, rest = _mask_words(words, _is_name)
    if not masked:
        return match.group(0)
    return f"{cue}{space}{masked}" + (f" {rest}" if rest else "")


def _here(match: re.Match[str]) -> str:
    masked, rest = _mask_words(match.group(2), _is_name)
    if not masked or rest:
        return match.group(0)
    return f"{match.group(1)}{masked}{match.group(3)}"


def _sign_off(match: re.Match[str]) -> str:
    masked, rest = _mask_words(match.group(3), _is_name)
    if not masked or rest:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{masked}{match.group(4)}"


def mask_personal(text: str) -> str:
    """Replace emails, UK phone numbers, postcodes and self-introduced names with placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    text = _POSTCODE.sub("[postcode]", text)
    text = _FIRM_CUE.sub(_cue_then_name, text)
    text = _LOOSE_CUE.sub(_cue_then_name, text)
    text = _HERE.sub(_here, text)
    return _SIGN_OFF.sub(_sign_off, text)


def has_placeholder(text: str) -> bool:
    """True when masking replaced something in `text` (such wording needs editing before it is reused)."""
    return any(p in text for p in ("[email]", "[phone]", "[postcode]", NAME))
