"""Duplicate candidates at intake: same category, near in space and time, similar text."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.auth.models import User
from civicgrid.events.models import Case
from civicgrid.events.scope import case_scope
from civicgrid.events.workflow import CaseState
from civicgrid.settings import get_settings

EARTH_RADIUS_M = 6_371_000.0
# Below this text similarity (0–100) a nearby report of the same category is still shown,
# but ranked after the textual matches; reports that far apart in wording rarely are one event.
MIN_SIMILARITY = 35.0


@dataclass(frozen=True)
class Candidate:
    case: Case
    distance_m: float
    similarity: float


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def duplicate_candidates(*, session: Session, actor: User, case: Case, limit: int = 10) -> list[Candidate]:
    """Open or recent cases that may be the same event as ``case``, best first."""
    if case.lat is None or case.lon is None:
        return []
    settings = get_settings()
    radius = settings.duplicate_radius_m
    window = dt.timedelta(hours=settings.duplicate_window_hours)
    dlat = radius / 111_320.0
    dlon = radius / (111_320.0 * max(math.cos(math.radians(case.lat)), 0.01))
    rows = session.scalars(
        select(Case).where(
            case_scope(actor),
            Case.id != case.id,
            Case.category_id == case.category_id,
            Case.state.not_in([CaseState.MERGED, CaseState.REJECTED]),
            Case.received_at >= case.received_at - window,
            Case.received_at <= case.received_at + window,
            Case.lat.between(case.lat - dlat, case.lat + dlat),
            Case.lon.between(case.lon - dlon, case.lon + dlon),
        ).limit(200)
    )
    found = []
    for other in rows:
        d = distance_m(case.lat, case.lon, other.lat, other.lon)
        if d > radius:
            continue
        sim = fuzz.token_set_ratio(case.description, other.description)
        sim = max(sim, fuzz.partial_ratio(case.title, other.title))
        found.append(Candidate(other, round(d, 1), round(sim, 1)))
    found.sort(key=lambda c: (c.similarity < MIN_SIMILARITY, -c.similarity, c.distance_m))
    return found[:limit]
