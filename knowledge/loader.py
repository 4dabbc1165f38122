"""Load the YAML knowledge files, validate them with the models and check cross-references.

Every problem is reported with the file and the field it is in, so an author can fix all of them
in one pass; `load_knowledge` raises `KnowledgeError` carrying the whole list.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

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
        ),
        [],
    )


def load_knowledge(directory: Path | None = None) -> Knowledge:
    knowledge, problems = check_knowledge(directory)
    if knowledge is None:
        raise KnowledgeError(problems)
    return knowledge
