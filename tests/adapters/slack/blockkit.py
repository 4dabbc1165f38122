"""Block Kit limits, checked on whatever we send to Slack (the API rejects messages that break them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def check_blocks(blocks: Iterable[dict[str, Any]], *, max_blocks: int = 50) -> None:
    blocks = list(blocks)
    assert 0 < len(blocks) <= max_blocks
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique in a message"
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        kind = block["type"]
        if kind == "section":
            assert block["text"]["type"] in ("mrkdwn", "plain_text")
            assert 0 < len(block["text"]["text"]) <= 3000
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert 0 < len(element["text"]) <= 3000
        elif kind == "actions":
            elements = block["elements"]
            assert 0 < len(elements) <= 25
            action_ids = [e["action_id"] for e in elements]
            assert len(action_ids) == len(set(action_ids)), "action ids must be unique in a block"
            for element in elements:
                assert element["type"] == "button"
                assert element["text"]["type"] == "plain_text"
                assert 0 < len(element["text"]["text"]) <= 75
                assert 0 < len(element["value"]) <= 2000
                assert len(element["action_id"]) <= 255
        elif kind == "header":
            assert element_text_length(block) <= 150
        elif kind == "input":
            assert block["label"]["type"] == "plain_text"
        else:
            raise AssertionError(f"unexpected block type {kind}")


def element_text_length(block: dict[str, Any]) -> int:
    return len(block["text"]["text"])
