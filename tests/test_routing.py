"""School → local authority → hub routing, and the checks the loader makes on the routing data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.routing import lookup_school, route, route_local_authority
from knowledge.enquiry import EnquiryKnowledge
from knowledge.hubs import HUB_COUNT, School
from knowledge.loader import DATA_DIR, Knowledge, check_knowledge

ENQUIRY_FILES = ("enquiry.yaml", "hubs.yaml", "establishment_types.yaml", "schools.csv")


@pytest.fixture(scope="module")
def data(knowledge: Knowledge) -> EnquiryKnowledge:
    assert knowledge.enquiry is not None
    return knowledge.enquiry


def school(data: EnquiryKnowledge, urn: str) -> School:
    return next(s for s in data.schools if s.urn == urn)


def test_packaged_data_has_40_hubs_and_the_school_sample(data: EnquiryKnowledge) -> None:
    assert len(data.hubs.hubs) == HUB_COUNT == 40
    assert len(data.schools) == 119
    assert data.type_by_name["Academy converter"].funding == "state_funded"


def test_only_confirmed_areas_are_routable(data: EnquiryKnowledge) -> None:
    routable = sorted(h.id for h in data.hubs.hubs if h.routable)
    assert routable == [
        "abacus-nw",
        "cheshire-and-wirral",
        "east-midlands-south",
        "sussex",
        "yorkshire-and-the-humber",
    ]
    assert all(h.area_confidence == "inferred" for h in data.hubs.hubs if h.placeholder)


@pytest.mark.parametrize(
    ("la", "hub"),
    [
        ("West Sussex", "sussex"),
        ("brighton & hove", "sussex"),  # case and '&' do not matter
        ("Kingston upon Hull, City of", "yorkshire-and-the-humber"),
        ("Leicester", "east-midlands-south"),
        ("Blackpool", "abacus-nw"),
        ("Wirral", "cheshire-and-wirral"),
    ],
)
def test_confirmed_local_authorities_route_directly(data: EnquiryKnowledge, la: str, hub: str) -> None:
    result = route_local_authority(data, la)
    assert (result.hub_id, result.manual_routing, result.reason) == (hub, False, "confirmed")


@pytest.mark.parametrize(
    ("la", "reason", "suggested"),
    [
        ("Lancashire", "la_shared", None),  # abacus-nw (part, confirmed) and north-west-three (inferred)
        ("Norfolk", "la_shared", None),
        ("Surrey", "la_inferred", "surrey-plus"),
        ("Doncaster", "la_inferred", "south-yorkshire"),  # disputed in the sources
        ("Camden", "la_unmapped", None),
        ("Cumbria", "la_unmapped", None),  # pre-2023 LA name: never guessed
        ("Northamptonshire", "la_unmapped", None),  # pre-2021: only the north is East Midlands South
    ],
)
def test_uncertain_local_authorities_go_to_the_default_route(
    data: EnquiryKnowledge, la: str, reason: str, suggested: str | None
) -> None:
    result = route_local_authority(data, la)
    assert result.hub_id is None and result.manual_routing is True
    assert result.reason == reason
    assert result.suggested_hub_id == suggested
    assert result.destination == data.hubs.default_route.name


def test_partial_la_of_a_single_confirmed_hub_is_manual(data: EnquiryKnowledge) -> None:
    only_abacus = data.hubs.model_copy(
        update={"hubs": tuple(h for h in data.hubs.hubs if h.id != "north-west-three")}
    )
    narrowed = EnquiryKnowledge(data.texts, only_abacus, data.establishment, data.schools)
    result = route_local_authority(narrowed, "Lancashire")
    assert (result.reason, result.suggested_hub_id) == ("la_partial", "abacus-nw")


@pytest.mark.parametrize(
    ("urn", "reason"),
    [
        ("100000", "la_unmapped"),  # The Aldgate School: state-funded, City of London not mapped
        ("101173", "not_state_funded"),  # Fairley House: independent special
    ],
)
def test_school_routing_reasons(data: EnquiryKnowledge, urn: str, reason: str) -> None:
    assert route(data, school(data, urn)).reason == reason


def test_welsh_and_overseas_schools_are_not_in_england(data: EnquiryKnowledge) -> None:
    for kind in ("Welsh establishment", "British schools overseas"):
        found = next(s for s in data.schools if s.establishment_type == kind)
        assert route(data, found).reason == "not_in_england"


def test_closed_and_unclear_schools_are_manual(data: EnquiryKnowledge) -> None:
    closed = next(
        s
        for s in data.schools
        if s.status == "Closed" and data.type_by_name[s.establishment_type].funding == "state_funded"
    )
    assert route(data, closed).reason == "school_not_live"
    college = next(s for s in data.schools if s.establishment_type == "Further education")
    assert route(data, college).reason == "type_unclear"
    assert route(data, None).reason == "school_unknown"


def test_a_live_state_school_in_a_confirmed_la_routes_to_its_hub(data: EnquiryKnowledge) -> None:
    academy = School(
        urn="999001",
        name="Test Academy",
        establishment_type="Academy converter",
        phase="Secondary",
        local_authority="East Sussex",
        postcode="BN1 1AA",
        status="Open",
        source="test",
    )
    result = route(data, academy)
    assert (result.hub_id, result.manual_routing) == ("sussex", False)


def test_lookup_by_urn_postcode_and_name(data: EnquiryKnowledge) -> None:
    assert [m.school.urn for m in lookup_school(data, "100000")] == ["100000"]
    assert [m.school.urn for m in lookup_school(data, "URN: 100000")] == ["100000"]
    assert lookup_school(data, "ec3a5de")[0].school.name == "The Aldgate School"
    assert lookup_school(data, "aldgate school")[0].school.urn == "100000"
    assert lookup_school(data, "Thomas Barns")[0].school.name == "Thomas Barnes Primary School"  # typo
    outward = lookup_school(data, "NW5")
    assert outward and all(m.school.postcode.startswith("NW5 ") for m in outward)


def test_lookup_ignores_generic_words_and_nonsense(data: EnquiryKnowledge) -> None:
    assert lookup_school(data, "primary school") == []
    assert lookup_school(data, "the academy") == []
    assert lookup_school(data, "Camden School for Girls") == []  # not in the sample: no near-miss guess
    assert lookup_school(data, "") == []


def test_lookup_puts_live_schools_first(data: EnquiryKnowledge) -> None:
    live = set(data.establishment.live_statuses)
    matches = lookup_school(data, "NW5", limit=20)
    statuses = [m.school.status in live for m in matches]
    assert statuses == sorted(statuses, reverse=True)


# -- loader checks on the routing data ---------------------------------------------------------------


@pytest.fixture
def enquiry_dir(tmp_path: Path, small_knowledge_dir: Path) -> Path:
    for path in small_knowledge_dir.iterdir():
        shutil.copy(path, tmp_path / path.name)
    for name in ENQUIRY_FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)
    return tmp_path


def _edit_hubs(directory: Path, change: object) -> None:
    path = directory / "hubs.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def _problems(directory: Path) -> list[str]:
    knowledge, problems = check_knowledge(directory)
    assert knowledge is None
    return [str(p) for p in problems]


def test_a_hub_list_that_is_not_40_is_a_problem(enquiry_dir: Path) -> None:
    _edit_hubs(enquiry_dir, lambda raw: raw["hubs"].pop())
    assert any("39 hubs listed" in p for p in _problems(enquiry_dir))


def test_duplicate_hub_ids_are_a_problem(enquiry_dir: Path) -> None:
    def duplicate(raw: dict) -> None:
        raw["hubs"][1]["id"] = raw["hubs"][0]["id"]

    _edit_hubs(enquiry_dir, duplicate)
    assert any("duplicate id 'archimedes-ne'" in p for p in _problems(enquiry_dir))


def test_an_la_claimed_by_two_confirmed_hubs_is_a_problem(enquiry_dir: Path) -> None:
    def claim(raw: dict) -> None:
        hub = next(h for h in raw["hubs"] if h["id"] == "cheshire-and-wirral")
        hub["local_authorities"].append("West Sussex")

    _edit_hubs(enquiry_dir, claim)
    assert any("'West Sussex'" in p and "sussex" in p for p in _problems(enquiry_dir))


def test_a_confirmed_area_needs_a_confirmed_name_and_las(enquiry_dir: Path) -> None:
    def confirm(raw: dict) -> None:
        hub = next(h for h in raw["hubs"] if h["id"] == "great-north")
        hub["area_confidence"] = "confirmed"

    _edit_hubs(enquiry_dir, confirm)
    assert any("needs its local authorities" in p for p in _problems(enquiry_dir))


def test_unknown_school_type_and_bad_rows_are_problems(enquiry_dir: Path) -> None:
    path = enquiry_dir / "schools.csv"
    text = path.read_text(encoding="utf-8")
    text += "999999,Nowhere School,Imaginary school,Secondary,Kent,CT1 1AA,Open,test\n"
    text += "12,Bad URN,Community school,Secondary,Kent,CT1 1AA,Open,test\n"
    path.write_text(text, encoding="utf-8")
    problems = _problems(enquiry_dir)
    assert any("unknown establishment type 'Imaginary school'" in p for p in problems)
    assert any(p.startswith("schools.csv: line 122") for p in problems)


def test_unknown_placeholder_in_enquiry_texts_is_a_problem(enquiry_dir: Path) -> None:
    path = enquiry_dir / "enquiry.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["confirmed"] = "Your reference is {referense}."
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert any("referense" in p for p in _problems(enquiry_dir))


def test_knowledge_without_enquiry_files_has_no_enquiry(small_knowledge: Knowledge) -> None:
    assert small_knowledge.enquiry is None
