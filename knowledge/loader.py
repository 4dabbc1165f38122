"""Load the YAML knowledge files, validate them with the models and check cross-references.

Every problem is reported with the file and the field it is in, so an author can fix all of them
in one pass; `load_knowledge` raises `KnowledgeError` carrying the whole list.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from knowledge.enquiry import EnquiryKnowledge, EnquiryTexts
from knowledge.hubs import HUB_COUNT, SCHOOL_COLUMNS, EstablishmentTypesFile, HubsFile, School
from knowledge.interview_checks import load_interview
from knowledge.interview_models import EligibilitySpec, InterviewSpec
from knowledge.models import FaqEntry, Lexicon, Programme, Source, Texts

DATA_DIR = Path(__file__).parent / "data"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class KnowledgeError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Knowledge:
    sources: Mapping[str, Source]
    programmes: Mapping[str, Programme]
    faq: Sequence[FaqEntry]
    texts: Texts
    lexicon: Lexicon
    directory: Path
    # Enquiries (bot/enquiry.py, bot/routing.py): None when the directory has no enquiry.yaml.
    enquiry: EnquiryKnowledge | None = None
    # "Which programme fits me?" (bot/interview.py, bot/eligibility.py): None without interview.yaml.
    interview: InterviewSpec | None = None
    eligibility: EligibilitySpec | None = None
    faq_by_id: Mapping[str, FaqEntry] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "faq_by_id", {e.id: e for e in self.faq})

    def link_for(self, entry: FaqEntry) -> str | None:
        if entry.link is not None:
            return str(entry.link)
        if entry.programme is not None:
            return str(self.programmes[entry.programme].url)
        first = self.sources.get(entry.sources[0])
        return str(first.url) if first is not None and first.url is not None else None


class _Collector:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []

    def read(self, name: str) -> Any:
        path = self.directory / name
        try:
            with path.open(encoding="utf-8") as handle:
                return yaml.safe_load(handle)
        except FileNotFoundError:
            self.problems.append(Problem(name, "-", "file is missing"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else "-"
            self.problems.append(Problem(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None

    def section(self, name: str, data: Any, key: str) -> list[Any]:
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            if data is not None:
                self.problems.append(Problem(name, key, f"expected a top-level '{key}:' list"))
            return []
        return list(data[key])

    def model_list(self, name: str, key: str, items: Iterable[Any], model: type[M]) -> list[M]:
        out: list[M] = []
        for index, raw in enumerate(items):
            label = raw.get("id") if isinstance(raw, dict) else None
            prefix = f"{key}[{index}]" + (f" ({label})" if label else "")
            parsed = self.model(name, prefix, raw, model)
            if parsed is not None:
                out.append(parsed)
        return out

    def model(self, name: str, prefix: str, raw: Any, model: type[M]) -> M | None:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(part) for part in err["loc"])
                where = f"{prefix}.{loc}" if loc and prefix else (loc or prefix or "-")
                self.problems.append(Problem(name, where, err["msg"]))
        return None

    def duplicates(self, name: str, key: str, ids: Iterable[str]) -> None:
        for dup, count in Counter(ids).items():
            if count > 1:
                self.problems.append(Problem(name, key, f"duplicate id '{dup}' ({count} times)"))


def knowledge_dir() -> Path:
    """The knowledge directory in use: KNOWLEDGE_DIR if set, else the packaged data."""
    return Path(os.environ.get("KNOWLEDGE_DIR") or DATA_DIR)


def check_knowledge(directory: Path | None = None) -> tuple[Knowledge | None, list[Problem]]:
    """Load everything and return the knowledge (None when any problem was found) and the problems."""
    directory = directory or knowledge_dir()
    c = _Collector(directory)

    sources = c.model_list(
        "sources.yaml", "sources", c.section("sources.yaml", c.read("sources.yaml"), "sources"), Source
    )
    c.duplicates("sources.yaml", "sources", (s.id for s in sources))
    source_ids = {s.id for s in sources}

    programmes = c.model_list(
        "programmes.yaml",
        "programmes",
        c.section("programmes.yaml", c.read("programmes.yaml"), "programmes"),
        Programme,
    )
    c.duplicates("programmes.yaml", "programmes", (p.id for p in programmes))
    programme_ids = {p.id for p in programmes}
    for index, programme in enumerate(programmes):
        for src in programme.sources:
            if src not in source_ids:
                c.problems.append(
                    Problem(
                        "programmes.yaml",
                        f"programmes[{index}] ({programme.id}).sources",
                        f"unknown source '{src}'",
                    )
                )

    faq = c.model_list("faq.yaml", "entries", c.section("faq.yaml", c.read("faq.yaml"), "entries"), FaqEntry)
    c.duplicates("faq.yaml", "entries", (e.id for e in faq))
    seen_phrasing: dict[str, str] = {}
    for index, entry in enumerate(faq):
        where = f"entries[{index}] ({entry.id})"
        if entry.programme is not None and entry.programme not in programme_ids:
            c.problems.append(
                Problem("faq.yaml", f"{where}.programme", f"unknown programme '{entry.programme}'")
            )
        for src in entry.sources:
            if src not in source_ids:
                c.problems.append(Problem("faq.yaml", f"{where}.sources", f"unknown source '{src}'"))
        for phrasing in (entry.question, *entry.phrasings):
            key = " ".join(phrasing.lower().split())
            other = seen_phrasing.setdefault(key, entry.id)
            if other != entry.id:
                c.problems.append(
                    Problem("faq.yaml", f"{where}.phrasings", f"'{phrasing}' is also a phrasing of '{other}'")
                )

    texts_raw = c.read("texts.yaml")
    texts = c.model("texts.yaml", "", texts_raw, Texts) if texts_raw is not None else None
    lexicon_raw = c.read("lexicon.yaml")
    lexicon = c.model("lexicon.yaml", "", lexicon_raw, Lexicon) if lexicon_raw is not None else None

    # -- enquiries: enquiry.yaml, hubs.yaml, establishment_types.yaml, schools.csv (see _load_enquiry) --
    enquiry = _load_enquiry(c)

    # -- eligibility interview: interview.yaml + eligibility.yaml (see knowledge/interview_checks.py) --
    interview, eligibility = load_interview(c, source_ids, programme_ids)

    if c.problems or texts is None or lexicon is None:
        return None, c.problems
    return (
        Knowledge(
            sources={s.id: s for s in sources},
            programmes={p.id: p for p in programmes},
            faq=tuple(faq),
            texts=texts,
            lexicon=lexicon,
            directory=directory,
            enquiry=enquiry,
            interview=interview,
            eligibility=eligibility,
        ),
        [],
    )


def load_knowledge(directory: Path | None = None) -> Knowledge:
    knowledge, problems = check_knowledge(directory)
    if knowledge is None:
        raise KnowledgeError(problems)
    return knowledge


# -- enquiries -----------------------------------------------------------------------------------
# The enquiry conversation and its routing data. Optional as a whole (a knowledge directory without
# enquiry.yaml has no enquiry flow: "contact" then points to the hubs page), all-or-nothing otherwise.


def _load_enquiry(c: _Collector) -> EnquiryKnowledge | None:
    if not (c.directory / "enquiry.yaml").exists():
        return None
    before = len(c.problems)
    raw = c.read("enquiry.yaml")
    texts = c.model("enquiry.yaml", "", raw, EnquiryTexts) if raw is not None else None
    raw = c.read("hubs.yaml")
    hubs = c.model("hubs.yaml", "", raw, HubsFile) if raw is not None else None
    raw = c.read("establishment_types.yaml")
    establishment = (
        c.model("establishment_types.yaml", "", raw, EstablishmentTypesFile) if raw is not None else None
    )
    schools = _read_schools(c) if (c.directory / "schools.csv").exists() else []

    if hubs is not None:
        _check_hubs(c, hubs)
    if establishment is not None:
        c.duplicates("establishment_types.yaml", "types", (str(t.code) for t in establishment.types))
        c.duplicates("establishment_types.yaml", "types (name)", (t.name for t in establishment.types))
        groups = {t.group for t in establishment.types}
        for old, new in establishment.group_aliases.items():
            if new not in groups:
                c.problems.append(
                    Problem("establishment_types.yaml", f"group_aliases.{old}", f"unknown group '{new}'")
                )
        type_names = {t.name for t in establishment.types}
        for line, school in schools:
            if school.establishment_type not in type_names:
                c.problems.append(
                    Problem(
                        "schools.csv",
                        f"line {line} (URN {school.urn})",
                        f"unknown establishment type '{school.establishment_type}'",
                    )
                )
    c.duplicates("schools.csv", "urn", (s.urn for _, s in schools))

    if len(c.problems) > before or texts is None or hubs is None or establishment is None:
        return None
    return EnquiryKnowledge(
        texts=texts, hubs=hubs, establishment=establishment, schools=tuple(s for _, s in schools)
    )


def _check_hubs(c: _Collector, hubs: HubsFile) -> None:
    name = "hubs.yaml"
    if hubs.expected_hub_count != HUB_COUNT:
        message = f"the NCETM figure is {HUB_COUNT}, not {hubs.expected_hub_count}"
        c.problems.append(Problem(name, "expected_hub_count", message))
    if len(hubs.hubs) != HUB_COUNT:
        message = f"{len(hubs.hubs)} hubs listed; there must be exactly {HUB_COUNT}"
        c.problems.append(Problem(name, "hubs", message))
    c.duplicates(name, "hubs", (h.id for h in hubs.hubs))
    # Two confirmed hubs claiming one LA in full would make direct routing a coin toss.
    confirmed: dict[str, list[tuple[str, bool]]] = {}
    for hub in hubs.hubs:
        if hub.area_confidence != "confirmed":
            continue
        for la in hub.local_authorities:
            confirmed.setdefault(la, []).append((hub.id, la in hub.partial_local_authorities))
    for la, claims in sorted(confirmed.items()):
        if len(claims) > 1 and not all(partial for _, partial in claims):
            ids = ", ".join(hub_id for hub_id, _ in claims)
            c.problems.append(Problem(name, f"local authority '{la}'", f"claimed by confirmed hubs {ids}"))


def _read_schools(c: _Collector) -> list[tuple[int, School]]:
    name = "schools.csv"
    out: list[tuple[int, School]] = []
    try:
        with (c.directory / name).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != SCHOOL_COLUMNS:
                c.problems.append(Problem(name, "header", f"expected columns {', '.join(SCHOOL_COLUMNS)}"))
                return []
            for row in reader:
                line = reader.line_num
                school = c.model(name, f"line {line}", row, School)
                if school is not None:
                    out.append((line, school))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        c.problems.append(Problem(name, "-", f"cannot read: {exc}"))
    return out
