"""Fixtures for the browser tests: a real uvicorn server on its own fresh database, and Chromium.

The per-test rollback ``session`` of tests/conftest.py cannot be shared with a server
thread, so the server gets a database of its own (a SQLite file, or a fresh PostgreSQL
database with CIVICGRID_TEST_DB=postgresql), migrated and filled with the fictional city
in a committed session. The process-wide engine is swapped for the server's and restored
afterwards, so the other tests of the same run are not disturbed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from civicgrid import db as dbmod
from tests.conftest import fresh_database

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class LiveServer:
    """A running civicgrid: its base URL and the fictional city's names the scenarios click on."""

    url: str
    grid_names: dict[str, str]
    unit_names: dict[str, str]
    grid_count: int


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Module scope: the swapped engine must not outlive the browser tests into the rest of the run.
@pytest.fixture(scope="module")
def e2e_database(tmp_path_factory) -> Iterator[str]:
    """A fresh database for the live server, migrated to head; dropped afterwards."""
    with fresh_database(tmp_path_factory, "e2e") as url:
        yield url


@pytest.fixture(scope="module")
def live_server(e2e_database) -> Iterator[LiveServer]:
    """civicgrid under uvicorn in a background thread on 127.0.0.1, serving the fictional city."""
    import uvicorn

    from civicgrid.app import create_app
    from tests.factories import build_world

    engine = dbmod.make_engine(e2e_database)
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session)
        session.commit()
        grid_names = {key: r.name_zh for key, r in world.regions.items() if key.startswith("grid")}
        unit_names = {key: u.name_zh for key, u in world.units.items()}
    previous = dbmod._engine  # restored afterwards: the rest of the run keeps its own engine
    dbmod.set_engine(engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(start_scheduler=False), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="civicgrid-e2e-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            dbmod.set_engine(previous)
            raise RuntimeError("the e2e server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", grid_names, unit_names, len(grid_names))
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        dbmod.set_engine(previous)
        engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (no downloaded browsers)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_server) -> Iterator[Callable]:
    """``new_page()`` → a page in a fresh browser context (own cookies) on the live server."""
    contexts = []

    def make(locale: str = "zh-CN"):
        context = chromium.new_context(base_url=live_server.url, locale=locale,
                                       viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # checked by the scenarios: no script errors on any page
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot() -> Callable:
    """``shot(page, 'name')`` saves a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
