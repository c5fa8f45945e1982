"""Shared by the command-line tests: a migrated temporary SQLite file the CLI uses, and the small city.

The suite's session-wide engine (tests/conftest.py) is saved and restored around each module that
uses ``cli_db``, so the CLI's own ``unit_of_work()`` calls go to the temporary database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from civicgrid import db as dbmod
from civicgrid.cli import app
from civicgrid.settings import get_settings

LON0, LAT0 = 119.30, 26.08

runner = CliRunner()


def city_geojson(*, broken: bool = False) -> dict:
    """City → district → street → community → two grids, as a GeoJSON file would hold them."""
    whole = box(LON0, LAT0, LON0 + 0.02, LAT0 + 0.02)
    features = [
        ("990100000000", "云州市", whole), ("990102000000", "云湖区", whole), ("990102001000", "湖1街道", whole),
        ("990102001001", "湖1社区", whole),
        ("990102001001001", "第1网格", box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.02)),
        ("990102001001002", "第2网格", box(LON0 + 0.01, LAT0, LON0 + 0.02, LAT0 + 0.02)),
    ]
    out = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": name},
         "geometry": json.loads(json.dumps(mapping(geom)))} for code, name, geom in features]}
    if broken:
        out["features"][4]["geometry"]["coordinates"][0].pop()
        out["features"][5]["properties"]["code"] = "99010200100100X"
    return out


def import_small_city(tmp_path_factory) -> Path:
    """The small city imported through ``civicgrid grids import`` and the categories seeded; the file's path."""
    path = tmp_path_factory.mktemp("geo") / "city.geojson"
    path.write_text(json.dumps(city_geojson(), ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["grids", "import", str(path)])
    assert result.exit_code == 0, result.output
    from civicgrid.events.taxonomy import seed_categories

    with dbmod.unit_of_work() as session:
        seed_categories(session=session)
    return path


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory, database_url):
    """A migrated temporary SQLite file that the CLI uses; the suite's engine comes back afterwards."""
    saved_engine, saved_env = dbmod._engine, os.environ.get("CIVICGRID_DATABASE_URL")
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.sqlite3'}"
    os.environ["CIVICGRID_DATABASE_URL"] = url
    get_settings.cache_clear()
    dbmod.set_engine(None)
    try:
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        yield url
    finally:
        if dbmod._engine is not None:
            dbmod._engine.dispose()
        if saved_env is None:
            os.environ.pop("CIVICGRID_DATABASE_URL", None)
        else:
            os.environ["CIVICGRID_DATABASE_URL"] = saved_env
        get_settings.cache_clear()
        dbmod.set_engine(saved_engine)
