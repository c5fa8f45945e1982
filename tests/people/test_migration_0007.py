"""Migration 0007_people_more goes up and back down (its own branch step only) on a fresh database file."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from civicgrid.migrations import downgrade, upgrade


def test_0007_upgrades_and_downgrades(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)

    def tables():
        engine = create_engine(url)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    assert {"care_visit_photo", "people_job_run", "care_visit"} <= tables()
    downgrade(url, "0007_people_more-1")
    after = tables()
    assert "care_visit_photo" not in after and "people_job_run" not in after
    assert {"care_visit", "person", "dispute"} <= after  # the branch below is untouched
    upgrade(url)
    assert {"care_visit_photo", "people_job_run"} <= tables()
