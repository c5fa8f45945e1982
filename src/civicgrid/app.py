"""The ASGI application: routers of every domain, problem+json errors, static assets."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from civicgrid import __version__
from civicgrid.settings import get_settings
from civicgrid.web import problems

STATIC_DIR = Path(__file__).parent / "web" / "static"


def _routers():
    # Imported here so importing civicgrid.app stays cheap for the CLI.
    from civicgrid.auth.routes import router as auth
    from civicgrid.calendar.routes import router as calendar
    from civicgrid.events.config_routes import router as event_config
    from civicgrid.events.routes import router as cases
    from civicgrid.notifications.routes import router as notifications
    from civicgrid.units.routes import router as units

    routers = [auth, cases, event_config, units, notifications, calendar]
    optional_domains = (
        "civicgrid.regions.routes",
        "civicgrid.open311.routes",
        "civicgrid.people.routes",
        "civicgrid.mediation.routes",
        "civicgrid.petitions.routes",
        "civicgrid.dashboard.routes",
        "civicgrid.assessment.routes",
        "civicgrid.reports.routes",
        "civicgrid.web.pages",
    )
    for optional in optional_domains:
        try:
            module = __import__(optional, fromlist=["router"])
        except ModuleNotFoundError as exc:
            # Only skip a domain that is not installed; a broken import inside it must surface.
            if exc.name is None or not optional.startswith(exc.name):
                raise
            continue
        routers.append(module.router)
    return routers


def create_app(*, start_scheduler: bool | None = None) -> FastAPI:
    """Build the app; the deadline scheduler runs inside it unless disabled."""
    settings = get_settings()
    run_scheduler = settings.scheduler_enabled if start_scheduler is None else start_scheduler

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        watcher = None
        if run_scheduler:
            from civicgrid.jobs import PeriodicWatcher

            watcher = PeriodicWatcher(settings.scheduler_interval_seconds)
            watcher.start()
        yield
        if watcher is not None:
            watcher.stop()

    app = FastAPI(
        title="civicgrid",
        version=__version__,
        description="市域社会治理平台 API — municipal social governance platform",
        lifespan=lifespan,
    )
    problems.install(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next):
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = rid
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict:
        """Liveness; also the bare endpoint the benchmarks compare against."""
        return {"status": "ok", "version": __version__}

    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
