"""The ASGI application: routers of every domain, problem+json errors, static assets."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicgrid import __version__
from civicgrid.audit.service import new_request_id
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


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID or a new one) and echo it back.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs the
    app in a separate task with its own streams, a cost on every request (bench/bench_intake.py).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get("x-request-id")
        rid = sent if sent else new_request_id()
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        await self.app(scope, receive, send_with_id)


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

    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict:
        """Liveness; also the bare endpoint the benchmarks compare against."""
        return {"status": "ok", "version": __version__}

    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
