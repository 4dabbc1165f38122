"""The command line, run as a user would: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from knowledge.loader import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_validate_ok() -> None:
    result = run("validate")
    assert result.returncode == 0, result.stderr
    assert "knowledge OK" in result.stdout


def test_validate_reports_problems_with_file_and_field(tmp_path: Path) -> None:
    for path in DATA_DIR.glob("*"):
        shutil.copy(path, tmp_path / path.name)
    faq = tmp_path / "faq.yaml"
    faq.write_text(faq.read_text().replace("topic: cost", "topic: money", 1))
    result = run("--knowledge-dir", str(tmp_path), "validate")
    assert result.returncode == 1
    assert "faq.yaml: entries[" in result.stderr and ".topic:" in result.stderr


def test_ask_one_question() -> None:
    result = run("ask", "is the work group free?")
    assert result.returncode == 0, result.stderr
    assert "free" in result.stdout.lower()
    assert "https://" in result.stdout


def test_ask_reads_stdin_and_writes_json_lines(tmp_path: Path) -> None:
    questions = "is the DWG free?\n\nwhat's the weather in Leeds tomorrow?\n<b>can an ect apply?</b>\n"
    result = run("ask", stdin=questions, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == [
        "is the DWG free?",
        "what's the weather in Leeds tomorrow?",
        "<b>can an ect apply?</b>",
    ]
    assert lines[0]["faq_id"] == "dwg-cost" and isinstance(lines[0]["score"], float)
    assert lines[1]["faq_id"] is None and "outside what I cover" in lines[1]["answer"]
    assert set(lines[0]) >= {"question", "answer", "faq_id", "score"}
    assert not list(tmp_path.iterdir())  # `ask` keeps nothing on disk


def test_unanswered_lists_counts(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"
    chat = run("--database-url", db, "chat", stdin="do you sell pencils?\ndo you sell pencils\nquit\n")
    assert chat.returncode == 0, chat.stderr
    result = run("--database-url", db, "unanswered")
    assert result.returncode == 0, result.stderr
    assert "    2  " in result.stdout and "pencils" in result.stdout
