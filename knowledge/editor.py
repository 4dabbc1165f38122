"""Edit the FAQ knowledge file the way an author would: add one phrasing to one entry.

The file is edited with ruamel.yaml's round-trip mode, so its comments, key order, quoting and
layout stay as they were and `git diff` shows one added line. After writing, the whole knowledge
directory is validated again (`check_knowledge`); if it does not pass, the file is put back exactly
as it was and the problems are returned.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from knowledge.loader import Problem, check_knowledge

FAQ_FILE = "faq.yaml"
MAX_PHRASING_CHARS = 300
# (mapping, sequence, offset) indentations tried in turn; the first that reproduces the file is used.
_LAYOUTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (2, 4, 0))


@dataclass(frozen=True)
class EditResult:
    ok: bool
    message: str
    changed: bool = False
    problems: list[Problem] = field(default_factory=list)


def phrasing_key(text: str) -> str:
    """How the loader compares phrasings for duplicates: case and spacing do not count."""
    return " ".join(text.lower().split())


def clean_phrasing(text: str) -> str:
    return " ".join(text.split())


def _represent_none(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.representer.add_representer(type(None), _represent_none)  # keep `null`, not an empty value
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _load(text: str) -> tuple[YAML, Any]:
    """Parse `text`, choosing the indentation that writes it back unchanged (when one does)."""
    first: tuple[YAML, Any] | None = None
    for layout in _LAYOUTS:
        yaml = _yaml(*layout)
        data = yaml.load(text)
        if first is None:
            first = (yaml, data)
        if _dump(yaml, data) == text:
            return yaml, data
    assert first is not None
    return first


def _reads_back(text: str, faq_id: str, wording: str) -> bool:
    try:
        data = pyyaml.safe_load(text)
    except pyyaml.YAMLError:
        return False
    entries = data.get("entries") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id") == faq_id:
            phrasings = entry.get("phrasings")
            return isinstance(phrasings, list) and bool(phrasings) and phrasings[-1] == wording
    return False


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step (a reader never sees half a file); the temporary file is hidden."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_phrasing(directory: Path, faq_id: str, phrasing: str) -> EditResult:
    """Append `phrasing` to entry `faq_id` in `directory`/faq.yaml, then re-validate the directory.

    Refuses a phrasing that is already one of another entry (the loader rejects that); a phrasing the
    entry already has is reported as ok and unchanged.
    """
    wording = clean_phrasing(phrasing)
    if len(wording) < 3:
        return EditResult(False, "the phrasing is empty or too short")
    if len(wording) > MAX_PHRASING_CHARS:
        return EditResult(False, f"the phrasing is longer than {MAX_PHRASING_CHARS} characters")
    path = directory / FAQ_FILE
    try:
        original = path.read_text(encoding="utf-8")
    except OSError as exc:
        return EditResult(False, f"cannot read {path}: {exc.strerror or exc}")
    try:
        yaml, data = _load(original)
    except Exception as exc:  # ruamel raises many error types for a broken file
        return EditResult(False, f"{path} is not valid YAML; run `python -m bot validate` ({exc})")
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return EditResult(False, f"{path} has no top-level 'entries:' list")
    target: Any = None
    key = phrasing_key(wording)
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        entry_id = str(entry.get("id"))
        texts = [entry.get("question"), *(entry.get("phrasings") or [])]
        if any(isinstance(t, str) and phrasing_key(t) == key for t in texts):
            if entry_id == faq_id:
                return EditResult(True, f"'{wording}' is already a phrasing of {faq_id}")
            return EditResult(
                False,
                f"'{wording}' is already a phrasing of {entry_id}; a wording can belong to one entry only",
            )
        if entry_id == faq_id:
            target = entry
    if target is None:
        return EditResult(False, f"there is no FAQ entry '{faq_id}' in {path}")
    phrasings = target.get("phrasings")
    if not isinstance(phrasings, list):
        return EditResult(False, f"entry {faq_id} in {path} has no 'phrasings:' list")

    text = None
    for value in (wording, DoubleQuotedScalarString(wording)):
        # Plain first (as authors write); quoted when plain would not read back the same with the
        # loader's parser (PyYAML, YAML 1.1, is stricter than ruamel about "?" or ":" in [flow, lists]).
        phrasings.append(value)
        candidate = _dump(yaml, data)
        if _reads_back(candidate, faq_id, wording):
            text = candidate
            break
        phrasings.pop()
    if text is None:
        return EditResult(False, f"'{wording}' cannot be written as YAML here")
    _write_atomically(path, text)
    knowledge, problems = check_knowledge(directory)
    if knowledge is None:
        _write_atomically(path, original)
        message = "the knowledge would not be valid with it, so faq.yaml was left as it was"
        return EditResult(False, message, False, problems)
    return EditResult(True, f"added '{wording}' to {faq_id} in {path}", True)
