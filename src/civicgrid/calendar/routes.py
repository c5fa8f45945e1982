"""HTTP API of the working-day calendar: read a year, enter a year, import a file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile

from civicgrid.auth.models import Role, User
from civicgrid.calendar import service
from civicgrid.calendar.schemas import CalendarDayIn, CalendarImportRead, CalendarYearRead
from civicgrid.web.deps import CurrentUser, OriginDep, SessionDep, require_roles

router = APIRouter(prefix="/api/calendar", tags=["calendar"])

AdminDep = Annotated[User, Depends(require_roles(Role.ADMIN))]


@router.post("/import", response_model=CalendarImportRead)
def import_schedule(
    session: SessionDep, actor: AdminDep, origin: OriginDep, file: Annotated[UploadFile, File()]
) -> CalendarImportRead:
    """Import a CSV or JSON schedule file; each year in it replaces that year's entered schedule."""
    # A plain (threadpool) route, since the service does blocking database work; reading one
    # byte past the limit lets the service refuse an oversized file without loading it all.
    content = file.file.read(service.MAX_IMPORT_BYTES + 1)
    years = service.import_schedule(
        session=session, actor=actor, origin=origin, content=content, filename=file.filename or ""
    )
    return CalendarImportRead(years=years)


@router.get("/{year}", response_model=CalendarYearRead)
def read_year(year: int, session: SessionDep, user: CurrentUser) -> CalendarYearRead:
    """A year's holidays and make-up workdays, and whether the year's schedule is official."""
    return service.year_view(session=session, year=year)


@router.put("/{year}", response_model=CalendarYearRead)
def put_year(
    year: int, days: list[CalendarDayIn], session: SessionDep, actor: AdminDep, origin: OriginDep
) -> CalendarYearRead:
    """Replace a year's schedule with the given holidays and make-up workdays (admin only)."""
    service.set_year(session=session, actor=actor, origin=origin, year=year, days=days)
    return service.year_view(session=session, year=year)
