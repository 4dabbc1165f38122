"""Pydantic models for the routing data: Maths Hubs (hubs.yaml), GIAS establishment types
(establishment_types.yaml) and the school list (schools.csv). Used by bot/routing.py.

Every hub fact carries a confidence flag. Only a hub whose area is `confirmed` is routed to directly;
everything else goes to the national default route, flagged for manual routing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

# The NCETM: "40 Maths Hubs" since September 2020 (seed 003; ncetm.org.uk background page).
HUB_COUNT = 40

Confidence = Literal["confirmed", "inferred"]
Region = Literal[
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
]
Funding = Literal["state_funded", "not_state_funded", "not_in_england", "unclear"]

SLUG = r"^[a-z0-9][a-z0-9-]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class DefaultRoute(_Frozen):
    """Where an enquiry goes when its hub cannot be determined with confidence."""

    name: str = Field(min_length=3)
    url: HttpUrl
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str | None = None


class Hub(_Frozen):
    id: str = Field(pattern=SLUG)
    name: str | None = Field(description="Hub name as found in public material; null when not found")
    name_confidence: Confidence
    lead: str | None = Field(default=None, description="Lead school(s) as the source states it")
    lead_confidence: Confidence | None = None
    region: Region | None = Field(description="Null only for the unidentified placeholder")
    regions_also: tuple[Region, ...] = ()
    local_authorities: tuple[str, ...] = Field(
        default=(), description="GIAS 'LA (name)' spellings the hub serves ([] = not found)"
    )
    partial_local_authorities: tuple[str, ...] = Field(
        default=(), description="LAs from the list above that the hub only covers in part"
    )
    area_confidence: Confidence = Field(
        description="confirmed: the hub's own site, its lead school or the NCETM states the area"
    )
    website: HttpUrl | None = None
    email: str | None = Field(default=None, description="A generic hub mailbox found in public material")
    placeholder: bool = Field(default=False, description="Stands in for a hub that could not be identified")
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or f"Maths Hub '{self.id}' (name not confirmed)"

    @property
    def routable(self) -> bool:
        """True when LAs of this hub may be routed to it without a person checking."""
        return self.area_confidence == "confirmed" and not self.placeholder

    @model_validator(mode="after")
    def _consistent(self) -> Hub:
        if (self.lead is None) != (self.lead_confidence is None):
            raise ValueError("give lead_confidence exactly when a lead is given")
        unknown = set(self.partial_local_authorities) - set(self.local_authorities)
        if unknown:
            raise ValueError(f"partial_local_authorities not in local_authorities: {sorted(unknown)}")
        if len(set(self.local_authorities)) != len(self.local_authorities):
            raise ValueError("a local authority is listed twice")
        if self.area_confidence == "confirmed":
            if self.name is None or self.name_confidence != "confirmed":
                raise ValueError("a hub with a confirmed area needs a confirmed name")
            if not self.local_authorities:
                raise ValueError("a hub with a confirmed area needs its local authorities")
            if self.placeholder:
                raise ValueError("a placeholder cannot have a confirmed area")
        if self.region is None and not self.placeholder:
            raise ValueError("region is required (null only for a placeholder)")
        return self


class HubsFile(_Frozen):
    expected_hub_count: int = Field(ge=1)
    default_route: DefaultRoute
    hubs: tuple[Hub, ...]


class EstablishmentType(_Frozen):
    """A GIAS `TypeOfEstablishment (name)` and whether it is in scope for state-funded programmes."""

    code: int = Field(ge=1)
    name: str = Field(min_length=2)
    group: str = Field(min_length=2, description="GIAS EstablishmentTypeGroup (name)")
    funding: Funding
    confidence: Confidence
    note: str | None = None


class EstablishmentTypesFile(_Frozen):
    group_aliases: dict[str, str] = Field(
        default_factory=dict, description="Older GIAS group spellings -> current spelling"
    )
    live_statuses: tuple[str, ...] = Field(
        min_length=1, description="EstablishmentStatus values meaning the URN is a live school"
    )
    outside_england_las: tuple[str, ...] = Field(
        default=(), description="'LA (name)' values that mean the establishment is not in England"
    )
    types: tuple[EstablishmentType, ...] = Field(min_length=1)


SCHOOL_COLUMNS = (
    "urn",
    "name",
    "establishment_type",
    "phase",
    "local_authority",
    "postcode",
    "status",
    "source",
)


class School(_Frozen):
    """One GIAS establishment row (schools.csv), in our own column names."""

    urn: str = Field(pattern=r"^\d{5,7}$")
    name: str = Field(min_length=2, max_length=200)
    establishment_type: str = Field(min_length=2)
    phase: str
    local_authority: str = Field(min_length=2)
    postcode: str = Field(default="", max_length=10)
    status: str = Field(min_length=2)
    source: str = Field(min_length=3, description="repo@commit:path the row was copied from")
