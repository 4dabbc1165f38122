"""The packaged knowledge loads, and broken knowledge is reported with file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.loader import DATA_DIR, Knowledge, check_knowledge


def test_packaged_knowledge_is_valid(knowledge: Knowledge) -> None:
    assert len(knowledge.programmes) == 7
    assert len(knowledge.faq) >= 80
    for entry in knowledge.faq:
        assert entry.sources, entry.id
        assert knowledge.link_for(entry), entry.id


def test_every_seed_page_is_used(knowledge: Knowledge) -> None:
    used = {source for entry in knowledge.faq for source in entry.sources}
    assert used == set(knowledge.sources)


def test_specialist_deadline_is_a_date(knowledge: Knowledge) -> None:
    deadline = knowledge.faq_by_id["specialist-deadline"]
    assert deadline.dated is not None
    assert deadline.dated.date.isoformat() == "2025-04-28"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    for path in DATA_DIR.glob("*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_programme_and_source_are_reported_with_file_and_field(broken: Path) -> None:
    _replace(broken / "faq.yaml", "programme: development-work-group", "programme: no-such-programme")
    _replace(broken / "faq.yaml", "sources: [ncp23-12]", "sources: [no-such-seed]")
    knowledge, problems = check_knowledge(broken)
    assert knowledge is None
    messages = [str(p) for p in problems]
    assert any(
        m.startswith("faq.yaml: entries[") and "unknown programme 'no-such-programme'" in m for m in messages
    )
    assert any("unknown source 'no-such-seed'" in m and ".sources" in m for m in messages)


def test_duplicate_ids_and_bad_fields(broken: Path) -> None:
    _replace(broken / "faq.yaml", "- id: dwg-cost", "- id: dwg-about")
    _replace(broken / "faq.yaml", "topic: cost", "topic: price")
    _replace(broken / "texts.yaml", "greeting:", "greetingz:")
    _, problems = check_knowledge(broken)
    messages = [str(p) for p in problems]
    assert any("duplicate id 'dwg-about'" in m for m in messages)
    assert any(".topic" in m and "faq.yaml" in m for m in messages)
    assert any(m.startswith("texts.yaml: greeting") for m in messages)
    assert any(m.startswith("texts.yaml: greetingz") for m in messages)


def test_invalid_yaml_is_reported_with_line(broken: Path) -> None:
    (broken / "programmes.yaml").write_text("programmes:\n  - id: [unclosed\n", encoding="utf-8")
    _, problems = check_knowledge(broken)
    assert any(p.file == "programmes.yaml" and p.field.startswith("line") for p in problems)


def test_missing_file(broken: Path) -> None:
    (broken / "lexicon.yaml").unlink()
    _, problems = check_knowledge(broken)
    assert any(p.file == "lexicon.yaml" and "missing" in p.message for p in problems)
