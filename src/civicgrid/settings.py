"""Typed settings, read from the environment with the ``CIVICGRID_`` prefix (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "civicgrid-demo-secret-change-me"
DEFAULT_DATA_KEY = "civicgrid-demo-data-key-change-me"


class Settings(BaseSettings):
    """All of civicgrid's settings; every field is documented in docs/settings.md."""

    model_config = SettingsConfigDict(env_prefix="CIVICGRID_", env_file=".env", extra="ignore")

    environment: Literal["demo", "dev", "test", "production"] = Field(
        "demo", description="demo/dev/test allow the default secret key; production refuses it."
    )
    database_url: str = Field(
        "sqlite:///var/civicgrid.sqlite3",
        description="SQLAlchemy URL. SQLite (WAL mode) is the embedded default; use postgresql+psycopg:// in production.",
    )
    secret_key: str = Field(DEFAULT_SECRET, description="Signs session cookies, CSRF tokens and API tokens.")
    upload_dir: Path = Field(Path("var/uploads"), description="Where case photos and attachments are stored.")
    map_tile_url: str = Field(
        "", description="Leaflet tile URL template for an intranet tile server; empty shows grids without a base map."
    )
    timezone: str = Field("Asia/Shanghai", description="Local time zone for working days and display.")
    token_ttl_hours: int = Field(12, description="Lifetime of API bearer tokens and page sessions, in hours.")
    login_max_failures: int = Field(5, description="Failed sign-ins per user name (within the lockout window) before throttling.")
    login_lockout_minutes: int = Field(15, description="How long throttled logins are refused.")
    intake_group_max: int = Field(
        64, ge=1, le=1000,
        description="Most reports one intake transaction takes in together (group commit, "
                    "events/intake_queue.py); 1 takes every report in alone.")
    intake_group_wait_ms: float = Field(
        30.0, ge=0, le=1000,
        description="Under load (the last group held more than one report), how long a group may wait for "
                    "more reports before it is written; it closes sooner when none arrives for 2 ms. 0 never waits.")
    scheduler_enabled: bool = Field(True, description="Run the in-process deadline scheduler inside `civicgrid serve`.")
    scheduler_interval_seconds: int = Field(60, description="How often the deadline scheduler scans open cases.")
    due_soon_hours: int = Field(24, description="A case is 'due soon' when its deadline is this close (wall-clock hours).")
    duplicate_radius_m: float = Field(100.0, description="Duplicate candidates: same category within this distance...")
    duplicate_window_hours: int = Field(72, description="...and within this many hours.")
    grid_snap_tolerance_m: float = Field(
        50.0, description="A point outside every grid snaps to the nearest grid within this distance."
    )
    data_key: str = Field(
        DEFAULT_DATA_KEY,
        description="Encrypts ID numbers and phones at rest and keys their lookup hashes (people domain).",
    )
    people_match_merge_score: float = Field(
        0.9, description="Import matching: a candidate scoring at least this is merged automatically..."
    )
    people_match_review_score: float = Field(
        0.6, description="...one scoring at least this (but below the merge score) goes to the review queue."
    )
    people_import_max_bytes: int = Field(
        200_000_000, description="Largest base-data import file accepted through the web, in bytes."
    )
    care_visit_grace_hours: int = Field(
        24, description="A care visit counts as missed this many hours after it was due."
    )
    open311_rate_limit_per_key: int = Field(
        30, ge=0, description="Open311 POST requests one API key may file per minute (0: no limit)..."
    )
    open311_rate_limit_per_address: int = Field(
        30, ge=0, description="...and one client address (IP) may file per minute, whatever key it uses (0: no limit)."
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "CIVICGRID_SECRET_KEY must be set to a private value in production "
                "(生产环境必须设置 CIVICGRID_SECRET_KEY)"
            )
        if self.environment == "production" and self.data_key == DEFAULT_DATA_KEY:
            raise ValueError(
                "CIVICGRID_DATA_KEY must be set to a private value in production "
                "(生产环境必须设置 CIVICGRID_DATA_KEY)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
