"""Prometheus metrics for /metrics: messages, answers by outcome, latency. One registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "bot_messages_total", "Messages handled, by platform.", ["platform"], registry=self.registry
        )
        self.outcomes = Counter(
            "bot_answers_total",
            "Messages by outcome (answer, ambiguous, unknown, invalid, error, flow steps...).",
            ["outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bot_message_latency_seconds",
            "Time to handle one message in the engine.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )

        self.dead_letters = Counter(
            "enquiry_dead_letters_total",
            "Enquiry deliveries given up on (the operators are alerted for each).",
            registry=self.registry,
        )

    def observe(self, platform: str, outcome: str, seconds: float) -> None:
        self.messages.labels(platform=platform).inc()
        self.outcomes.labels(outcome=outcome.split(":")[0] if ":" in outcome else outcome).inc()
        self.latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
