"""Learning from use: FAQ accuracy on held-out wordings before and after accepting suggestions.

    python -m benchmarks.learning [--set benchmarks/data/paraphrases.yaml] [--knowledge-dir DIR] [--json]

1. The labelled paraphrase set is split deterministically (per FAQ entry, by a hash of the question)
   into a "usage" half and a held-out half; out-of-scope questions are split the same way.
2. Before: top-1 accuracy, "did you mean" rate and out-of-scope refusal on the held-out half.
3. A simulated week of use: every usage-half question goes through the engine as a fresh
   conversation. Offered "did you mean" with the right entry, the user picks it; offered only wrong
   ones, they press "none of these"; given a wrong answer, they press 👎; refused, nothing.
4. The author reviews `python -m bot suggestions` as a person who knows the labels would: accepts
   every pick; moves each 👎 wording to its right entry (`accept --faq`); accepts each unanswered
   cluster into the entry most of its wordings belong to, and rejects clusters of out-of-scope
   questions. Accepted phrasings go into a temporary copy of the knowledge (never the packaged one).
5. After: the same held-out measures on the edited knowledge, plus the usage half itself.

Only this benchmark reads the labelled set; its questions never go into the packaged knowledge.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.faq_accuracy import DEFAULT_SETS, LabelledSet, load_set
from bot.engine import Engine
from bot.messages import ConversationKey, Inbound, Reply
from bot.privacy import mask_personal
from bot.store.sql import SqlStore
from bot.suggestions import DEFAULT_THRESHOLD, accept, list_suggestions, reject
from knowledge.editor import clean_phrasing
from knowledge.loader import DATA_DIR, Knowledge, load_knowledge


def _rank(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split(data: LabelledSet) -> tuple[LabelledSet, LabelledSet]:
    """(usage, held-out): per entry, questions in hash order alternate between the halves."""
    by_label: dict[str, list[str]] = {}
    for question, label in data.in_scope:
        by_label.setdefault(label, []).append(question)
    usage_in: list[tuple[str, str]] = []
    held_in: list[tuple[str, str]] = []
    for label, questions in sorted(by_label.items()):
        for index, question in enumerate(sorted(questions, key=_rank)):
            (usage_in if index % 2 == 0 else held_in).append((question, label))
    out = sorted(data.out_of_scope, key=_rank)
    return LabelledSet(usage_in, out[0::2]), LabelledSet(held_in, out[1::2])


@dataclass
class Measure:
    top1: float
    asked_back: float
    refusal: float
    outcomes: dict[str, str] = field(default_factory=dict, repr=False)  # question -> entry id or reply kind


async def _ask(engine: Engine, text: str) -> tuple[ConversationKey, list[Reply]]:
    key = ConversationKey("bench", "", "bench", uuid.uuid4().hex)
    return key, await engine.handle(Inbound(key=key, text=text))


def _answered(replies: Sequence[Reply]) -> str | None:
    return next((r.faq_id for r in replies if r.kind == "answer"), None)


async def measure(knowledge: Knowledge, data: LabelledSet) -> Measure:
    store = SqlStore("sqlite+aiosqlite://")
    await store.open()
    try:
        engine = Engine(knowledge, store)
        correct = asked = 0
        outcomes: dict[str, str] = {}
        for question, label in data.in_scope:
            _, replies = await _ask(engine, question)
            correct += _answered(replies) == label
            asked += replies[0].kind == "disambiguation"
            outcomes[question] = _answered(replies) or replies[0].kind
        refused = 0
        for question in data.out_of_scope:
            _, replies = await _ask(engine, question)
            refused += _answered(replies) is None and replies[0].kind != "disambiguation"
            outcomes[question] = _answered(replies) or replies[0].kind
        return Measure(
            correct / max(len(data.in_scope), 1),
            asked / max(len(data.in_scope), 1),
            refused / max(len(data.out_of_scope), 1),
            outcomes,
        )
    finally:
        await store.close()


@dataclass
class Usage:
    outcomes: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)


async def simulate(knowledge: Knowledge, usage: LabelledSet, threshold: float) -> Usage:
    """Users go through the engine; then the author reviews every suggestion. Edits knowledge.directory."""
    result = Usage()
    store = SqlStore("sqlite+aiosqlite://")
    await store.open()
    try:
        engine = Engine(knowledge, store)
        labels: dict[str, str | None] = {}
        for question, label in [*usage.in_scope, *((q, None) for q in usage.out_of_scope)]:
            labels[clean_phrasing(mask_personal(question))] = label
            key, replies = await _ask(engine, question)
            answered = _answered(replies)
            if answered is not None:
                if answered == label:
                    result.outcomes["answered right"] += 1
                    continue
                result.outcomes["answered wrong: thumbs down"] += 1
                await engine.handle(Inbound(key=key, action=f"feedback:down:{answered}"))
            elif replies[0].kind == "disambiguation":
                offered = {c.value for c in replies[0].choices}
                pick = f"faq:{label}" if f"faq:{label}" in offered else "faq:none"
                result.outcomes["did you mean: picked" if pick != "faq:none" else "did you mean: none"] += 1
                await engine.handle(Inbound(key=key, action=pick))
            else:
                result.outcomes["refused"] += 1

        for suggestion in await list_suggestions(store, knowledge, threshold):
            if suggestion.kind == "pick":
                outcome = await accept(store, knowledge, suggestion.id, threshold=threshold)
            else:
                votes = Counter(labels.get(text) for text, n in suggestion.wordings for _ in range(n))
                label, _ = votes.most_common(1)[0]
                if label is None or label == suggestion.faq_id:
                    outcome = await reject(store, knowledge, suggestion.id, threshold)
                    result.decisions[f"{suggestion.kind}: rejected"] += 1
                    continue
                outcome = await accept(store, knowledge, suggestion.id, faq_id=label, threshold=threshold)
            verdict = "accepted" if outcome.ok else "refused"
            result.decisions[f"{suggestion.kind}: {verdict}"] += 1
    finally:
        await store.close()
    return result


def _rates(m: Measure) -> dict[str, float]:
    return {"top1": m.top1, "asked_back": m.asked_back, "refusal": m.refusal}


@dataclass
class Report:
    usage: tuple[int, int]  # in-scope, out-of-scope questions
    held_out: tuple[int, int]
    before: dict[str, float]
    after: dict[str, float]
    usage_before: dict[str, float]
    usage_after: dict[str, float]
    outcomes: dict[str, int]
    decisions: dict[str, int]
    added: list[tuple[str, str]]  # (entry, phrasing)
    held_out_changes: list[dict[str, str | None]]


async def run(source: Path, data_path: Path, threshold: float) -> Report:
    with tempfile.TemporaryDirectory(prefix="learning-") as tmp:
        work = Path(tmp) / "knowledge"
        shutil.copytree(source, work)
        knowledge = load_knowledge(work)
        usage, held_out = split(load_set(data_path, knowledge))
        before = await measure(knowledge, held_out)
        usage_before = await measure(knowledge, usage)
        simulated = await simulate(knowledge, usage, threshold)
        learned = load_knowledge(work)
        after = await measure(learned, held_out)
        usage_after = await measure(learned, usage)
    labels = dict(held_out.in_scope)
    old = {e.id: set(e.phrasings) for e in knowledge.faq}
    return Report(
        usage=(len(usage.in_scope), len(usage.out_of_scope)),
        held_out=(len(held_out.in_scope), len(held_out.out_of_scope)),
        before=_rates(before),
        after=_rates(after),
        usage_before=_rates(usage_before),
        usage_after=_rates(usage_after),
        outcomes=dict(simulated.outcomes),
        decisions=dict(simulated.decisions),
        added=[(e.id, p) for e in learned.faq for p in e.phrasings if p not in old.get(e.id, set())],
        held_out_changes=[
            {"question": q, "label": labels.get(q), "before": was, "after": after.outcomes[q]}
            for q, was in before.outcomes.items()
            if was != after.outcomes[q]
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", type=Path, default=DEFAULT_SETS[0])
    parser.add_argument("--knowledge-dir", type=Path, default=DATA_DIR, help="copied; never modified")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="unanswered clustering")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--changes", action="store_true", help="list phrasings added and held-out changes")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.knowledge_dir, args.set, args.threshold))
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return 0
    print(
        f"usage half: {report.usage[0]} in-scope + {report.usage[1]} out-of-scope questions; "
        f"held-out half: {report.held_out[0]} + {report.held_out[1]}; {len(report.added)} phrasings added\n"
    )
    print(f"| {'measure':<48} | {'before':>7} | {'after':>7} |")
    print(f"|{'-' * 50}|{'-' * 9}|{'-' * 9}|")
    rows = [
        ("held-out top-1 (answered with the right entry)", report.before, report.after, "top1"),
        ("held-out asked 'did you mean'", report.before, report.after, "asked_back"),
        ("held-out out-of-scope refused", report.before, report.after, "refusal"),
        ("usage half top-1 (the wordings learned from)", report.usage_before, report.usage_after, "top1"),
        ("usage half out-of-scope refused", report.usage_before, report.usage_after, "refusal"),
    ]
    for name, old, new, key in rows:
        print(f"| {name:<48} | {old[key]:>7.1%} | {new[key]:>7.1%} |")
    print(f"\nsimulated use: {json.dumps(report.outcomes)}")
    print(f"author's review: {json.dumps(report.decisions)}")
    if args.changes:
        print("\nphrasings added:")
        for faq_id, phrasing in report.added:
            print(f"  {faq_id}: {phrasing}")
        print("held-out questions whose reply changed:")
        for change in report.held_out_changes:
            print(f"  {change['question']!r} ({change['label']}): {change['before']} -> {change['after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
