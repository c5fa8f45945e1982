"""Everything the mediation domain serves: the API (/api/mediation) and the pages (/mediation)."""

from __future__ import annotations

from fastapi import APIRouter

from civicgrid.mediation import api, pages

router = APIRouter()
router.include_router(api.router)
router.include_router(pages.router)
