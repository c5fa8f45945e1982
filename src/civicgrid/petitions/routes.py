"""Everything the petitions domain serves: the API (/api/petitions) and the pages (/petitions)."""

from __future__ import annotations

from fastapi import APIRouter

from civicgrid.petitions import api, pages

router = APIRouter()
router.include_router(api.router)
router.include_router(pages.router)
