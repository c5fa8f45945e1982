"""Petition reception pages (filled in below)."""

from __future__ import annotations

from fastapi import APIRouter

from civicgrid.web.pagekit import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
