"""School → local authority → Maths Hub, over the routing data in knowledge/ (hubs, GIAS types, schools).

Only a confirmed, unshared LA mapping routes straight to a hub. Anything uncertain goes to the national
default route with `manual_routing=True` and a reason, so an enquiry is never dropped or misrouted
silently. Pure functions over `EnquiryKnowledge`; the interview can reuse `lookup_school` and `route`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process, utils

from knowledge.enquiry import EnquiryKnowledge
from knowledge.hubs import Hub, School

RouteReason = Literal[
    "confirmed",  # LA mapped to exactly one hub with a confirmed area: routed directly
    "la_inferred",  # the only hub listing the LA has an inferred area
    "la_partial",  # the hub covers only part of the LA
    "la_shared",  # more than one hub lists the LA
    "la_unmapped",  # no hub lists the LA
    "not_state_funded",  # independent and similar
    "not_in_england",  # Welsh, overseas, offshore
    "type_unclear",  # colleges, non-maintained special schools, unknown types ...
    "school_not_live",  # closed or not yet open
    "school_unknown",  # the school was typed in, not found in the list
]

POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b", re.IGNORECASE)
OUTWARD = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$", re.IGNORECASE)
URN = re.compile(r"^\s*(?:urn\s*:?\s*)?(\d{6})\s*$", re.IGNORECASE)
# Words in almost every school name: matching on them alone would find every school.
_GENERIC = frozenset(
    {
        "school",
        "schools",
        "the",
        "of",
        "and",
        "primary",
        "secondary",
        "academy",
        "college",
        "high",
        "infant",
        "infants",
        "junior",
        "church",
        "england",
        "ce",
        "cofe",
        "c",
        "e",
        "rc",
        "catholic",
        "st",
        "saint",
        "community",
        "voluntary",
        "aided",
        "controlled",
        "foundation",
        "nursery",
        "special",
        "free",
        "upper",
        "lower",
        "middle",
        "grammar",
        "trust",
        "ysgol",
        "gymraeg",
    }
)


@dataclass(frozen=True)
class SchoolMatch:
    school: School
    score: float  # 0-100; 100 for an exact URN or postcode match


@dataclass(frozen=True)
class Route:
    """Where an enquiry goes. `hub_id` None = the national default route."""

    hub_id: str | None
    destination: str  # hub name or default route name, for people to read
    manual_routing: bool
    reason: RouteReason
    local_authority: str | None = None
    suggested_hub_id: str | None = None  # a best guess for the people routing by hand (never used to send)


def normalise_postcode(text: str) -> str | None:
    match = POSTCODE.search(text)
    if match is None:
        return None
    return f"{match.group(1).upper()} {match.group(2).upper()}"


def _la_key(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower().replace("&", " and ")).split())


def _name_key(name: str) -> str:
    words = utils.default_process(name).split()
    return " ".join(w for w in words if w not in _GENERIC)


def lookup_school(data: EnquiryKnowledge, query: str, limit: int = 5) -> list[SchoolMatch]:
    """Schools matching a URN, a postcode (full or outward part), or a name (fuzzy), best first.

    Live schools come before closed ones. A name query made only of generic words ("primary school")
    finds nothing rather than everything.
    """
    query = query.strip()
    if not query or not data.schools:
        return []
    urn = URN.match(query)
    if urn is not None:
        return [SchoolMatch(s, 100.0) for s in data.schools if s.urn == urn.group(1)][:limit]

    live = set(data.establishment.live_statuses)
    postcode = normalise_postcode(query)
    candidates: Sequence[School] = data.schools
    name_part = query
    if postcode is not None:
        candidates = [s for s in data.schools if normalise_postcode(s.postcode) == postcode]
        name_part = POSTCODE.sub(" ", query)
    elif OUTWARD.match(query):
        outward = query.upper()
        return _live_first(
            [SchoolMatch(s, 90.0) for s in data.schools if s.postcode.upper().split(" ")[0] == outward],
            live,
        )[:limit]

    if postcode is None:
        # "St Pauls Academy Greenwich", "Park High, Leeds": the local authority narrows the search.
        area, name_part = _split_area(name_part, data.schools)
        if area is not None:
            in_area = [s for s in data.schools if _la_key(s.local_authority) == area]
            found = _by_name(name_part, in_area, live, limit)
            if found:
                return found
    key = _name_key(name_part)
    if postcode is not None and len(key) < 3:
        return _live_first([SchoolMatch(s, 100.0) for s in candidates], live)[:limit]
    return _by_name(name_part, candidates, live, limit)


def _by_name(name: str, candidates: Sequence[School], live: set[str], limit: int) -> list[SchoolMatch]:
    key = _name_key(name)
    if len(key) < 3:
        return []
    keys = _name_keys(candidates)
    found = process.extract(key, keys, scorer=fuzz.WRatio, processor=None, limit=limit * 3, score_cutoff=88)
    matches = [SchoolMatch(candidates[index], float(score)) for _, score, index in found]
    return _live_first(matches, live)[:limit]


def _split_area(query: str, schools: Sequence[School]) -> tuple[str | None, str]:
    """The local authority a query names ("… in Greenwich", "…, Leeds"), and the query without it."""
    words = _la_key(query).split()
    best: tuple[str, int, int] | None = None
    for area in _areas(schools):
        size = len(area)
        for start in range(len(words) - size + 1):
            if tuple(words[start : start + size]) == area and (best is None or size > best[2] - best[1]):
                best = (" ".join(area), start, start + size)
    if best is None or best[1] == 0:  # the whole query, or its start, is a place: not a school name
        return None, query
    rest = words[: best[1]] + words[best[2] :]
    while rest and rest[-1] in ("in", "at", "near"):
        rest.pop()
    return best[0], " ".join(rest)


_areas_cache: tuple[Sequence[School], frozenset[tuple[str, ...]]] | None = None


def _areas(schools: Sequence[School]) -> frozenset[tuple[str, ...]]:
    global _areas_cache
    if _areas_cache is None or _areas_cache[0] is not schools:
        _areas_cache = (schools, frozenset(tuple(_la_key(s.local_authority).split()) for s in schools))
    return _areas_cache[1]


_keys_cache: tuple[Sequence[School], list[str]] | None = None


def _name_keys(schools: Sequence[School]) -> list[str]:
    """Matching keys for a school list; the full list's keys are kept (a GIAS extract has ~50,000)."""
    global _keys_cache
    if _keys_cache is not None and _keys_cache[0] is schools:
        return _keys_cache[1]
    keys = [_name_key(s.name) for s in schools]
    if isinstance(schools, tuple):  # the knowledge's own list, not a per-query subset
        _keys_cache = (schools, keys)
    return keys


def _live_first(matches: list[SchoolMatch], live: set[str]) -> list[SchoolMatch]:
    return sorted(matches, key=lambda m: (m.school.status not in live, -m.score, m.school.name))


def find_school(data: EnquiryKnowledge, urn: str) -> School | None:
    return next((s for s in data.schools if s.urn == urn), None)


def route(data: EnquiryKnowledge, school: School | str | None) -> Route:
    """Route a school from the list, an LA name (e.g. from the interview), or None (school typed in)."""
    if school is None:
        return _default(data, "school_unknown")
    if isinstance(school, str):
        return route_local_authority(data, school)
    rules = data.establishment
    kind = data.type_by_name.get(school.establishment_type)
    la = school.local_authority
    if la in rules.outside_england_las or (kind is not None and kind.funding == "not_in_england"):
        return _default(data, "not_in_england", la)
    if kind is None or kind.funding == "unclear":
        return _default(data, "type_unclear", la, _suggest(data, la))
    if kind.funding == "not_state_funded":
        return _default(data, "not_state_funded", la, _suggest(data, la))
    if school.status not in rules.live_statuses:
        return _default(data, "school_not_live", la, _suggest(data, la))
    return route_local_authority(data, la)


def route_local_authority(data: EnquiryKnowledge, local_authority: str) -> Route:
    claims = hubs_listing(data, local_authority)
    if not claims:
        return _default(data, "la_unmapped", local_authority)
    if len(claims) > 1:
        return _default(data, "la_shared", local_authority)
    hub = claims[0]
    if hub.placeholder:
        return _default(data, "la_inferred", local_authority)
    partial = {local_authority_key(la) for la in hub.partial_local_authorities}
    if local_authority_key(local_authority) in partial:
        return _default(data, "la_partial", local_authority, hub.id)
    if not hub.routable:
        return _default(data, "la_inferred", local_authority, hub.id)
    return Route(
        hub_id=hub.id,
        destination=hub.display_name,
        manual_routing=False,
        reason="confirmed",
        local_authority=local_authority,
    )


def local_authority_key(name: str) -> str:
    """LA names compare without case, punctuation or '&' vs 'and' ("Kingston upon Hull, City of")."""
    return _la_key(name)


def hubs_listing(data: EnquiryKnowledge, local_authority: str) -> list[Hub]:
    key = _la_key(local_authority)
    return [h for h in data.hubs.hubs if key in {_la_key(la) for la in h.local_authorities}]


def _suggest(data: EnquiryKnowledge, local_authority: str) -> str | None:
    claims = hubs_listing(data, local_authority)
    return claims[0].id if len(claims) == 1 and not claims[0].placeholder else None


def _default(
    data: EnquiryKnowledge, reason: RouteReason, la: str | None = None, suggested: str | None = None
) -> Route:
    return Route(
        hub_id=None,
        destination=data.hubs.default_route.name,
        manual_routing=True,
        reason=reason,
        local_authority=la,
        suggested_hub_id=suggested,
    )
