"""Latency summaries shared by the benchmarks, so every table means the same thing by p99."""

from __future__ import annotations

from collections.abc import Sequence


def p99(ordered: Sequence[float]) -> float:
    """The 99th percentile (nearest rank) of values already sorted ascending; needs at least one."""
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
