"""Masking of personal data in text the bot keeps for knowledge authors (unanswered questions, feedback,
"did you mean" picks): emails, UK phone numbers, postcodes, NI and pupil numbers, dates of birth, names
people give for themselves and names they give for pupils, children and colleagues.

Names are only recognised where the writer introduces themselves ("my name is …", "I'm Sarah Jones",
"this is …", "Sarah here", a sign-off such as "Thanks, Sarah"). After a firm cue ("my name is",
"call me") the next words are masked whatever their case; after a looser one ("I'm", "I am",
"this is") only capitalised words that are not common words of the trade ("I'm Head of Maths").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# An address spelled out to dodge filters: "jane dot smith at school dot org", "jsmith (at) x.sch.uk".
_SPELT_EMAIL = re.compile(
    r"(?i)\b[\w'-]+(?:\s*(?:\.|\(?dot\)?)\s*[\w'-]+)*\s*(?:\(at\)|\[at\]|\bat\b)\s*"
    r"[\w-]+(?:\s*(?:\.|\(?\bdot\b\)?)\s*[\w-]+)*\s*(?:\.|\(?\bdot\b\)?)\s*"
    r"(?:com|org|net|uk|co|ac|sch|gov|edu|me|io)\b(?:\s*(?:\.|\(?\bdot\b\)?)\s*(?:uk|org|com))*"
)
# National Insurance number (AB 12 34 56 C), a pupil's Unique Pupil Number (a letter and 12 digits).
_NI_NUMBER = re.compile(r"(?i)\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z](?:\s?\d{2}){3}\s?[A-D]\b")
_UPN = re.compile(r"(?i)\b[A-Z]\d{11}[0-9A-Z]\b")
# Dates that can only be a birthday or identify a child: "DOB 03/05/2012", "born 3 May 2012", "12.05.2011".
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})[a-z]*\.?,?\s+\d{{4}})"
)
_BIRTH_DATE = re.compile(rf"(?i)\b(?:d\.?o\.?b\.?|date\s+of\s+birth|born(?:\s+on)?)\s*:?\s*{_DATE}")
# Without a cue, only a full date in a year a pupil or adult could be born in (a 2025 deadline stays).
_NUMERIC_DATE = re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.](?:19\d{2}|20[01]\d)\b")
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
    thanks thank please sorry dear england wales scotland uk london
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_SIGN_OFF_WORDS = frozenset({"best", "cheers", "regards", "thanks", "wishes", "warmly", "yours", "ta"})

_FIRM_CUE = re.compile(
    rf"(?i:\b(my\s+name\s+is|my\s+name{_APOS}?s|i\s+am\s+called|i{_APOS}?m\s+called|call\s+me|name\s*:))"
    rf"(\s+)({_ANY_WORD}(?:\s+{_ANY_WORD}){{0,2}})"
)
_LOOSE_CUE = re.compile(rf"(?i:\b(i\s+am|i{_APOS}?m|this\s+is))(\s+)({_TITLE}(?:\s+{_TITLE}){{0,2}})")
_HERE = re.compile(
    rf"^((?i:(?:hi|hello|hey|dear\s+\w+)[,!.]?\s+)?)({_TITLE}(?:\s+{_TITLE}){{0,2}})(\s+here\b)"
)
# Someone else named: "my pupil Jamie Smith", "our student, Priya", "my son Alex".
_THIRD_PARTY_CUE = re.compile(
    rf"(?i:\b((?:my|our|a|one\s+of\s+my|one\s+of\s+our)\s+"
    rf"(?:pupil|student|son|daughter|child|kid|colleague|mentee|ect|trainee|tutee)s?"
    rf"(?:\s*,|\s+(?:is\s+)?called|\s+named)?))"
    rf"(\s+)({_TITLE}(?:\s+{_TITLE}){{0,2}})"
)
# A "Surname, Firstname" signature closing the message: "... Smith, Jane".
_SURNAME_FIRST = re.compile(rf"(?:^|(?<=[.!?\n]))(\s*)({_TITLE},\s+{_TITLE})(\s*[.!]?\s*)$")
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


def _surname_first(match: re.Match[str]) -> str:
    surname, first = (w.strip() for w in match.group(2).split(",", 1))
    if surname.lower() in _SIGN_OFF_WORDS or not (_is_name(surname) and _is_name(first)):
        return match.group(0)
    return f"{match.group(1)}{NAME}{match.group(3)}"


def mask_personal(text: str) -> str:
    """Replace emails (also spelled out), UK phone numbers, postcodes, NI numbers, pupil numbers, dates
    of birth, self-introduced names and names given for pupils or children with placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _SPELT_EMAIL.sub("[email]", text)
    text = _NI_NUMBER.sub("[id]", text)
    text = _UPN.sub("[id]", text)
    text = _BIRTH_DATE.sub("[date]", text)
    text = _NUMERIC_DATE.sub("[date]", text)
    text = _PHONE.sub("[phone]", text)
    text = _POSTCODE.sub("[postcode]", text)
    text = _FIRM_CUE.sub(_cue_then_name, text)
    text = _THIRD_PARTY_CUE.sub(_cue_then_name, text)
    text = _LOOSE_CUE.sub(_cue_then_name, text)
    text = _HERE.sub(_here, text)
    text = _SURNAME_FIRST.sub(_surname_first, text)
    return _SIGN_OFF.sub(_sign_off, text)


def has_placeholder(text: str) -> bool:
    """True when masking replaced something in `text` (such wording needs editing before it is reused)."""
    return any(p in text for p in ("[email]", "[phone]", "[postcode]", "[id]", "[date]", NAME))


def user_key(user_ref: str) -> str:
    """A pseudonymous key for a person (`platform:workspace:user`), stored beside the text they typed
    in the learning tables, so `erase --user` finds it without the tables naming anyone."""
    return hashlib.sha256(f"mastery-user:{user_ref}".encode()).hexdigest()[:32]
