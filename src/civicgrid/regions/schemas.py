"""Pydantic schemas for regions, grid members, point lookups and GeoJSON import reports."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicgrid.regions.models import RegionLevel


class RegionRead(BaseModel):
    """One region without its polygon (polygons are served separately as GeoJSON)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str = ""
    level: RegionLevel
    parent_id: int | None = None
    path: str
    area_m2: float | None = None
    centroid_lon: float | None = None
    centroid_lat: float | None = None
    special_kind: str | None = None
    population: int | None = None
    active: bool = True


class RegionTreeNode(BaseModel):
    """A region with its children, for tree pickers and drill-down."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str = ""
    level: RegionLevel
    special_kind: str | None = None
    population: int | None = None
    children: list[RegionTreeNode] = Field(default_factory=list)


class ImportProblem(BaseModel):
    """One validation problem of a GeoJSON import: which feature, what kind, and what to fix."""

    index: int | None = Field(None, description="Position in `features` (0-based); None for the whole file.")
    code: str | None = Field(None, description="The feature's `code` property, when it has one.")
    kind: str = Field(description="Stable machine-readable kind, e.g. `sibling_overlap` (see docs/grids.md).")
    message_zh: str
    message_en: str
    related_index: int | None = Field(None, description="The other feature involved (duplicates, overlaps).")
    related_code: str | None = Field(None, description="The other region involved, in the file or the database.")


class ImportReport(BaseModel):
    """What an import did (or, for a dry run, would do), or every reason it cannot."""

    features: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    errors: list[ImportProblem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file passed validation."""
        return not self.errors


class GridMemberCreate(BaseModel):
    """Assign a user to a grid as grid worker, community police or N-team member."""

    user_id: int
    duty: str = Field(description="grid_worker | police | team")
    team_name: str | None = Field(None, max_length=100)


class GridMemberRead(BaseModel):
    """A grid assignment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    grid_id: int
    user_id: int
    duty: str
    team_name: str | None = None


class LocationRead(BaseModel):
    """Where a point falls: the grid (if any), whether it was snapped from outside, and the distance."""

    model_config = ConfigDict(from_attributes=True)

    grid_id: int | None
    snapped: bool
    distance_m: float | None = Field(None, description="0 inside a grid; metres to the grid if snapped; null if none.")

    @field_validator("distance_m")
    @classmethod
    def _no_infinity(cls, value: float | None) -> float | None:
        # Location uses inf for "no grid in reach"; JSON has no infinity, so say null.
        return None if value is None or math.isinf(value) else round(value, 2)
