"""Helpers shared by the enquiry tests: a knowledge set with enquiries, and delivery routes."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.outbox import DeliveryRoutes
from bot.settings import HubRoute
from knowledge.loader import DATA_DIR
from tests.conftest import FIXTURES

SUSSEX_EMAIL = "sussex-hub@example.org"
DEFAULT_EMAIL = "national@example.org"
ROUTES = DeliveryRoutes({"sussex": HubRoute(email=SUSSEX_EMAIL)}, HubRoute(email=DEFAULT_EMAIL))


def make_enquiry_knowledge_dir(small_knowledge_dir: Path, target: Path) -> Path:
    """The small fixed knowledge plus the real enquiry texts and hubs, and fictional test schools
    (tests/fixtures/knowledge/enquiry/schools.csv: one in West Sussex, so a school routes to a hub)."""
    for path in small_knowledge_dir.iterdir():
        shutil.copy(path, target / path.name)
    for name in ("enquiry.yaml", "hubs.yaml", "establishment_types.yaml"):
        shutil.copy(DATA_DIR / name, target / name)
    shutil.copy(FIXTURES / "knowledge" / "enquiry" / "schools.csv", target / "schools.csv")
    return target
