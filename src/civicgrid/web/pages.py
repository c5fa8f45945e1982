"""The HTML pages (zh-CN first, English switch): one router gathering every domain's page routes.

``civicgrid.app`` includes ``router`` when this module exists. The pages live with their
domains (auth/pages.py, events/pages.py, regions/pages.py) plus the administration pages;
the shared plumbing is in web/pagekit.py and the Jinja2 environment in web/templating.py.
"""

from __future__ import annotations

from fastapi import APIRouter

from civicgrid.auth.pages import router as auth_pages
from civicgrid.events.pages import router as case_pages
from civicgrid.regions.pages import router as map_pages
from civicgrid.web.admin_pages import router as admin_pages

router = APIRouter(include_in_schema=False)
for _pages in (auth_pages, case_pages, map_pages, admin_pages):
    router.include_router(_pages)
